"""Hybrid retrieval: dense and BM25 (jieba tokens) rankings fused by weighted RRF, with filters.

The candidates come from the index's store (bot/backends.py: FAISS and bm25s files, or Milvus); the scoring
of lay-question entries, the lay-to-legal expansion and the fusion are here, the same for every store.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from bot.backends import Entries, Scope
from bot.config import Settings
from bot.embed import Embedder
from bot.fuse import rrf
from bot.index import Index
from bot.questions import article_rows, law_key
from bot.rerank import DEPTH as RERANK_DEPTH
from bot.rerank import rerank
from bot.types import Filters, Hit, Passage
from bot.zh import data_lines, expand

logger = logging.getLogger(__name__)

WINDOW_DEPTH = 8  # entries searched per passage wanted (passages have about three windows, articles ~6 questions)
MISSING_GAP = 0.1  # the agreement gap of a passage whose second-best lay question was not among the entries searched


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
    _later: "dict[int, list[int]] | None" = PrivateAttr(default=None)

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

    def scope(self, filters: Filters) -> Scope:
        """The filters and the passage rows they allow."""
        return Scope(filters, self._mask(filters))

    def dense(self, query: str, n: int, scope: Scope = Scope(Filters())) -> tuple[list[int], np.ndarray]:
        """Rows of the n passages with the most similar entries, and each row's dense score (-1 where none was reached).

        A passage's entries are its sentence windows (the best cosine counts) and its lay questions (question
        against question: both embedded in the query role). Question-to-question
        cosines run higher, so questions count `question_offset` less; and a passage whose second-best question
        matches almost as well as its best is a safer bet than one lone match, so the gap between the two
        counts `question_agreement` times (a passage with one matching question counts the gap as MISSING_GAP).

        Lay questions bridge a worker's words to a statute whose own text says it differently. When a report's
        own text is at least as close to the question as any statute's text, there is no gap to bridge: the
        question is about what the reports describe ("工会能安排免费体检吗", "其他地方是怎么做的"), and the rows
        are ranked by their windows alone, so statutes do not win on lay questions that resemble it. The
        scores returned still count the lay questions (the refusal thresholds are calibrated on them).
        """
        qv = self.query_vector(query)
        store = self.index.store
        windows = self._best_entries(store.windows(qv, n * WINDOW_DEPTH, scope))
        if not self.index.questions:
            return _top(windows, n, scope.mask, floor=-1.0), windows
        first, second = self._best_two_entries(store.questions(qv, n * WINDOW_DEPTH, scope))
        s = self.settings
        gap = np.where(second > -1.0, second - first, -MISSING_GAP)
        scored = first - s.question_offset + s.question_agreement * gap
        best = np.where(first > -1.0, np.maximum(windows, scored), windows)
        return _top(windows if self._reports_closer(windows) else best, n, scope.mask, floor=-1.0), best

    def _reports_closer(self, windows: np.ndarray) -> bool:
        """Whether the best report window is at least as close to the question as the best statute window.

        Parameter-free. Measured when added (third round of issue 8): of 325 questions answered by a statute
        (dev2, dev, four probes) it held for none (the closest came within 0.003); of 185 answered by reports it
        held for 167, among them 8 of the 19 that a statute had outranked.
        """
        law = self.index.is_law
        if not law.any() or law.all():
            return False
        best_law = float(windows[law].max())
        return best_law > -1.0 and float(windows[~law].max()) >= best_law

    def _best_entries(self, found: Entries) -> np.ndarray:
        """Best cosine per passage over the entries found (-1 where none was reached)."""
        best = np.full(len(self.index.passages), -1.0, dtype=np.float32)
        np.maximum.at(best, found.rows, found.scores)
        return best

    def _best_two_entries(self, found: Entries) -> tuple[np.ndarray, np.ndarray]:
        """Best and second-best cosine per passage over the entries found, best first (-1 where none was reached)."""
        first = np.full(len(self.index.passages), -1.0, dtype=np.float32)
        second = first.copy()
        for score, row in zip(found.scores, found.rows):
            if first[row] == -1.0:
                first[row] = score
            elif second[row] == -1.0:
                second[row] = score
        return first, second

    def sparse(self, query: str, n: int, scope: Scope = Scope(Filters()), raw: str | None = None) -> tuple[list[int], np.ndarray]:
        """Rows of the n best BM25 passages with a positive score, and every row's BM25 score.

        BM25 indexes each passage and each of its lay questions as entries; a passage scores its best entry.
        Passages without lay questions are matched with `query` (which may carry legal wording from the
        lay-to-legal table); passages with lay questions and the questions themselves with `raw`, the question
        as asked (the questions bridge workers' words better than the table), scaled by question_bm25_scale.
        """
        two = raw is not None and raw != query
        results = self.index.store.bm25([query, raw] if two else [query], n * WINDOW_DEPTH, scope)  # type: ignore[list-item]
        best = results[0].passages.copy()
        plain = results[-1]
        if two:
            best = np.where(self.index.has_questions, plain.passages, best)
        np.maximum.at(best, plain.questions.rows, plain.questions.scores * self.settings.question_bm25_scale)
        return _top(best, n, scope.mask, floor=0.0), best

    def search(self, query: str, k: int = 5, filters: Filters = Filters(), alternates: Sequence[str] = (),
               reranked: bool = True) -> list[Hit]:
        """The k best passages for the query, best first.

        `alternates`: other wordings of the same question (an LLM's legal rewrite); their dense and BM25
        rankings join the fusion, and the original query's scores are the ones reported.
        `reranked`: the fused ranking looked at again by best sentence (bot/rerank.py); False gives the fused
        order, which extractive answers start from.
        """
        s = self.settings
        expanded = expand(query) if s.expand_query else query
        scope = self.scope(filters)
        if s.vector_store == "milvus" and s.milvus_fusion != "python":
            return self._native(query, expanded, k, scope, reranked)
        mask = scope.mask
        n = max(s.candidates, k)
        d_rows, d_scores = self.dense(query, n, scope)
        s_rows, s_scores = self.sparse(expanded, n, scope, raw=query)
        rankings, weights = [d_rows, s_rows], [s.dense_weight, s.sparse_weight]
        for alt in alternates:
            rankings += [self.dense(alt, n, scope)[0], self.sparse(alt, n, scope)[0]]
            weights += [s.dense_weight * s.alternate_weight, s.sparse_weight * s.alternate_weight]
        fused = rrf(rankings, weights, k=s.rrf_k)
        d_rank = {r: i + 1 for i, r in enumerate(d_rows)}
        s_rank = {r: i + 1 for i, r in enumerate(s_rows)}
        def hit(r: int) -> Hit:
            return Hit(passage=self.index.passages[r], score=fused.get(r, 0.0), dense_rank=d_rank.get(r),
                       sparse_rank=s_rank.get(r), dense_score=float(d_scores[r]), sparse_score=float(s_scores[r]))

        hits = [hit(r) for r in sorted(fused, key=lambda r: -fused[r])[: max(k, RERANK_DEPTH)]]
        return self._finish(rerank(query, hits) if reranked else hits, mask, k, hit)

    def _finish(self, hits: list[Hit], mask: np.ndarray | None, k: int, hit: Callable[[int], Hit] | None = None) -> list[Hit]:
        """The first k hits after _later_law_first (an article that replaced one is placed before it, made by
        `hit(row)`); a moved-up article takes the score of the one it precedes, so scores still fall."""
        by_row = {self.index.row_of[h.passage.id]: h for h in hits}
        rows = self._later_law_first(list(by_row), mask)[:k]
        score = {r: h.score for r, h in by_row.items()}
        for i in range(len(rows) - 1, -1, -1):
            score[rows[i]] = max(score.get(rows[i], 0.0), score[rows[i + 1]] if i + 1 < len(rows) else 0.0)
        made = hit or (lambda r: Hit(passage=self.index.passages[r], score=0.0))
        return [replace(by_row[r] if r in by_row else made(r), score=score[r]) for r in rows]

    def _native(self, query: str, expanded: str, k: int, scope: Scope, reranked: bool) -> list[Hit]:
        """Milvus's own hybrid search and ranker (settings.milvus_fusion) instead of the scoring and fusion above
        (an LLM's rewrite is not used); for comparison, README "Milvus"."""
        found = self.index.store.hybrid(self.query_vector(query), expanded, max(self.settings.candidates, k), scope,
                                        self.settings.milvus_fusion, self.settings)
        hits = [Hit(passage=self.index.passages[int(r)], score=float(x))
                for r, x in list(zip(found.rows, found.scores))[: max(k, RERANK_DEPTH)]]
        return self._finish(rerank(query, hits) if reranked else hits, scope.mask, k)

    def _later_law_first(self, rows: list[int], mask: np.ndarray | None) -> list[int]:
        """Rows with the article that replaced an outdated one (bot/data/superseded.tsv) placed right before it,
        so an answer never quotes "六十日内申请仲裁" without the one-year rule that replaced it."""
        later = self._later_rows()
        if not later or not any(r in later for r in rows):
            return rows
        out: list[int] = []
        for r in rows:
            for new in later.get(r, ()):
                if new not in out and (mask is None or mask[new]):
                    out.append(new)
            if r not in out:
                out.append(r)
        return out

    def _later_rows(self) -> dict[int, list[int]]:
        """Passage row of an outdated article -> rows of the article that replaced it (both indexed)."""
        if self._later is None:
            by_article = article_rows(self.index.passages)
            later: dict[int, list[int]] = {}
            for line in data_lines("superseded.tsv"):
                old_title, old_article, new_title, new_article = line.split("\t")[:4]
                new_rows = by_article.get((law_key(new_title), new_article), [])
                for r in by_article.get((law_key(old_title), old_article), []) if new_rows else []:
                    later[r] = new_rows
            self._later = later
        return self._later

    def matching(self, query: str, filters: Filters = Filters()) -> list[Passage]:
        """Passages whose own text contains at least one query term (after expansion) and that pass the filters."""
        scope = self.scope(filters)
        scores = self.index.store.matching(expand(query), scope)
        mask = scope.mask
        return [p for i, p in enumerate(self.index.passages) if scores[i] > 0 and (mask is None or mask[i])]

    def similar(self, passage: Passage, k: int = 5) -> list[Hit]:
        """Passages of other documents closest to this one in embedding space (best window vs passage mean)."""
        vec = self.index.passage_vector(self.index.row_of[passage.id])
        found = self.index.store.near(vec, k * 40 + 40)
        hits: list[Hit] = []
        seen_docs = {passage.doc_id}
        for score, row in zip(found.scores, found.rows):
            p = self.index.passages[int(row)]
            if p.doc_id not in seen_docs:
                seen_docs.add(p.doc_id)
                hits.append(Hit(passage=p, score=float(score), dense_score=float(score)))
            if len(hits) == k:
                break
        return hits


def _top(scores: np.ndarray, n: int, mask: np.ndarray | None, floor: float) -> list[int]:
    """Rows of the n highest scores above floor, among the rows the mask allows."""
    ranked = scores if mask is None else np.where(mask, scores, floor)
    return [int(r) for r in np.argsort(-ranked, kind="stable")[:n] if ranked[r] > floor]


def to_document(hit: Hit) -> Document:
    """A LangChain Document for a hit: page_content is the source text, metadata the passage fields."""
    meta: dict[str, Any] = hit.passage.to_dict()
    meta.pop("text")
    meta.update(score=hit.score, label=hit.passage.label)
    return Document(page_content=hit.passage.text, metadata=meta)
