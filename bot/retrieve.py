"""Hybrid retrieval: dense (FAISS) and BM25 (jieba tokens) rankings fused by weighted RRF, with filters."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from bot.config import Settings
from bot.embed import Embedder
from bot.fuse import rrf
from bot.index import Index
from bot.types import Filters, Hit, Passage
from bot.zh import bm25_tokens, expand

logger = logging.getLogger(__name__)

WINDOW_DEPTH = 8  # windows searched per passage wanted (passages have about three windows)


class HybridRetriever(BaseRetriever):
    """LangChain retriever over an Index; `search()` returns typed Hits, the LangChain API returns Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    embedder: Embedder
    settings: Settings
    k: int = 5
    filters: Filters = Filters()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        return [to_document(h) for h in self.search(query, k=self.k, filters=self.filters)]

    _qcache: "OrderedDict[str, np.ndarray]" = PrivateAttr(default_factory=OrderedDict)
    _qlock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def query_vector(self, text: str) -> np.ndarray:
        """(1, dim) query embedding; the last 2048 are kept, as embedding is most of a search's cost."""
        with self._qlock:
            if text in self._qcache:
                self._qcache.move_to_end(text)
                return self._qcache[text]
        vec = self.embedder.embed_queries([text])
        with self._qlock:
            self._qcache[text] = vec
            if len(self._qcache) > 2048:
                self._qcache.popitem(last=False)
        return vec

    def clear_cache(self) -> None:
        """Forget cached query embeddings (so a benchmark measures cold questions)."""
        with self._qlock:
            self._qcache.clear()

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if filters.empty:
            return None
        return np.array([filters.matches(p) for p in self.index.passages], dtype=bool)

    def dense(self, query: str, n: int, mask: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
        """Rows of the n passages whose best sentence window is most similar, and each row's best cosine.

        Rows never reached keep -1. Without filters only the top windows are searched (enough to fill n
        passages in practice); with filters every window is scored, as the corpus is small.
        """
        qv = self.query_vector(query)
        total = self.index.faiss_index.ntotal
        depth = total if mask is not None else min(total, n * WINDOW_DEPTH)
        scores, wins = self.index.faiss_index.search(qv, depth)
        best = np.full(len(self.index.passages), -1.0, dtype=np.float32)
        valid = wins[0] >= 0
        np.maximum.at(best, self.index.window_rows[wins[0][valid]], scores[0][valid])
        ranked = best if mask is None else np.where(mask, best, -1.0)
        order = [int(r) for r in np.argsort(-ranked, kind="stable")[:n] if ranked[r] > -1.0]
        return order, best

    def sparse(self, query: str, n: int, mask: np.ndarray | None = None) -> tuple[list[int], np.ndarray]:
        """Rows of the n best BM25 passages with a positive score, and every row's BM25 score."""
        tokens = bm25_tokens(query)
        if not tokens:
            return [], np.zeros(len(self.index.passages), dtype=np.float32)
        scores = np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)
        ranked = scores if mask is None else np.where(mask, scores, 0.0)
        top = np.argsort(-ranked, kind="stable")[:n]
        return [int(i) for i in top if ranked[i] > 0], scores

    def search(self, query: str, k: int = 5, filters: Filters = Filters()) -> list[Hit]:
        """The k best passages for the query (lay words expanded to legal wording), best first."""
        s = self.settings
        expanded = expand(query)
        mask = self._mask(filters)
        n = max(s.candidates, k)
        d_rows, d_scores = self.dense(expanded, n, mask)
        s_rows, s_scores = self.sparse(expanded, n, mask)
        fused = rrf([d_rows, s_rows], [s.dense_weight, s.sparse_weight], k=s.rrf_k)
        d_rank = {r: i + 1 for i, r in enumerate(d_rows)}
        s_rank = {r: i + 1 for i, r in enumerate(s_rows)}
        best = sorted(fused, key=lambda r: -fused[r])[:k]
        return [
            Hit(passage=self.index.passages[r], score=fused[r], dense_rank=d_rank.get(r), sparse_rank=s_rank.get(r),
                dense_score=float(d_scores[r]), sparse_score=float(s_scores[r]))
            for r in best
        ]

    def matching(self, query: str, filters: Filters = Filters()) -> list[Passage]:
        """Passages that contain at least one query term (after expansion) and pass the filters."""
        _, scores = self.sparse(expand(query), 1)
        mask = self._mask(filters)
        return [p for i, p in enumerate(self.index.passages) if scores[i] > 0 and (mask is None or mask[i])]

    def similar(self, passage: Passage, k: int = 5) -> list[Hit]:
        """Passages of other documents closest to this one in embedding space (best window vs passage mean)."""
        vec = self.index.passage_vector(self.index.row_of[passage.id])
        scores, wins = self.index.faiss_index.search(vec, min(self.index.faiss_index.ntotal, k * 40 + 40))
        hits: list[Hit] = []
        seen_docs = {passage.doc_id}
        for score, w in zip(scores[0], wins[0]):
            if w < 0:
                continue
            p = self.index.passages[int(self.index.window_rows[w])]
            if p.doc_id not in seen_docs:
                seen_docs.add(p.doc_id)
                hits.append(Hit(passage=p, score=float(score), dense_score=float(score)))
            if len(hits) == k:
                break
        return hits


def to_document(hit: Hit) -> Document:
    """A LangChain Document for a hit: page_content is the source text, metadata the passage fields."""
    meta: dict[str, Any] = hit.passage.to_dict()
    meta.pop("text")
    meta.update(score=hit.score, label=hit.passage.label)
    return Document(page_content=hit.passage.text, metadata=meta)
