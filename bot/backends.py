"""Where the retrieval entries of an index are searched: its FAISS and bm25s files, or Milvus (bot/milvus_store.py).

A store answers what bot/retrieve.py asks, always in passage rows (lines of passages.jsonl): which sentence
windows and which lay questions lie nearest a query vector, and what BM25 gives the passages and lay questions
for a query. Scoring and fusion stay in HybridRetriever, the same whichever store serves the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bot import vectors
from bot.config import Settings
from bot.types import Filters
from bot.zh import bm25_tokens

if TYPE_CHECKING:
    from bot.index import Index

DEFAULTS = {name: Settings.model_fields[name].default for name in ("hnsw_ef_search", "faiss_approximate_above")}


@dataclass(frozen=True)
class Scope:
    """The passages a search may return: the filters, and the same as a mask over passage rows (None: all)."""

    filters: Filters
    mask: np.ndarray | None = None


@dataclass(frozen=True)
class Entries:
    """Entries found: each one's score and the passage row it belongs to (best first where a search ranks)."""

    scores: np.ndarray
    rows: np.ndarray

    @classmethod
    def none(cls) -> "Entries":
        return cls(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class Bm25Result:
    """BM25 of one query: a score per passage row (0 where the passage was not reached) and lay-question entries."""

    passages: np.ndarray
    questions: Entries


class EntryStore(Protocol):
    """The searches HybridRetriever needs from a backend."""

    def windows(self, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        """Sentence windows nearest the (1, dim) query vector, best first (at least `depth` unless filtered)."""
        ...

    def questions(self, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        """Lay-question entries nearest the query vector, best first."""
        ...

    def bm25(self, queries: Sequence[str], depth: int, scope: Scope) -> list[Bm25Result]:
        """BM25 of passages and lay questions for each query (the `depth` best entries or more)."""
        ...

    def matching(self, query: str, scope: Scope) -> np.ndarray:
        """BM25 score of every passage's own text (not its lay questions): positive where a query term occurs."""
        ...

    def near(self, vec: np.ndarray, depth: int) -> Entries:
        """Windows nearest a (1, dim) vector over the whole index, best first (similar passages)."""
        ...

    def passage_vector(self, row: int) -> np.ndarray:
        """(1, dim) normalised mean of a passage's window vectors."""
        ...

    def count(self) -> int:
        """Number of window vectors."""
        ...


class FaissStore:
    """The index folder's own files: vectors.faiss and questions.faiss (exact, or HNSW above a size: bot/vectors.py),
    bm25s over jieba tokens. `ef_search` and `approximate_above` come from the settings the index was loaded with."""

    def __init__(self, index: Index, ef_search: int = DEFAULTS["hnsw_ef_search"],
                 approximate_above: int = DEFAULTS["faiss_approximate_above"]) -> None:
        self.index = index
        self.ef_search = ef_search
        self.approximate_above = approximate_above

    def _search(self, fi: object, entry_rows: np.ndarray, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        """The `depth` nearest entries; filtered, those of allowed passages (all of them while few)."""
        k = min(fi.ntotal, depth)  # type: ignore[attr-defined]
        if not k:
            return Entries.none()
        if scope.mask is None:
            scores, entries = vectors.search(fi, qv, k, self.ef_search)
        else:
            scores, entries = vectors.search_allowed(fi, qv, k, scope.mask[entry_rows], self.ef_search,
                                                     self.approximate_above)
        valid = entries[0] >= 0
        return Entries(scores[0][valid], entry_rows[entries[0][valid]])

    def windows(self, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        return self._search(self.index.faiss_index, self.index.window_rows, qv, depth, scope)

    def questions(self, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        if self.index.question_faiss is None:
            return Entries.none()
        return self._search(self.index.question_faiss, self.index.question_rows, qv, depth, scope)

    def bm25(self, queries: Sequence[str], depth: int, scope: Scope) -> list[Bm25Result]:
        n = len(self.index.passages)
        out = []
        for query in queries:
            scores = self.entry_scores(query)
            out.append(Bm25Result(scores[:n], Entries(scores[n:], self.index.question_rows)))
        return out

    def matching(self, query: str, scope: Scope) -> np.ndarray:
        return self.entry_scores(query)[: len(self.index.passages)]

    def entry_scores(self, query: str) -> np.ndarray:
        """BM25 score of every entry: passages first, then lay questions (zeros when the query has no token)."""
        tokens = bm25_tokens(query)
        if not tokens:
            return np.zeros(len(self.index.passages) + len(self.index.questions), dtype=np.float32)
        return np.asarray(self.index.bm25.get_scores(tokens), dtype=np.float32)

    def near(self, vec: np.ndarray, depth: int) -> Entries:
        return self.windows(vec, depth, Scope(Filters()))

    def passage_vector(self, row: int) -> np.ndarray:
        fi = self.index.faiss_index
        vecs = np.vstack([fi.reconstruct(int(w)) for w in np.flatnonzero(self.index.window_rows == row)])
        mean = vecs.mean(axis=0, keepdims=True)
        return mean / max(float(np.linalg.norm(mean)), 1e-12)

    def count(self) -> int:
        return int(self.index.faiss_index.ntotal)
