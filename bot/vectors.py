"""The FAISS vector indexes of an index folder: exact while small, HNSW above a measured size.

Exact search (IndexFlatIP) reads every vector for every query; on this shared 2-core machine one query's
p50 (one thread, 384 dimensions) was 1.3-2.2 ms at 20k vectors and 3-6.5 ms at 30k (docs/performance.md), so
above `faiss_approximate_above` = 20k vectors the index is an IndexHNSWFlat (inner product = cosine on
normalised vectors). Its vectors stay in a flat storage, so reconstruct() works as before and a metadata-filtered
search can still be exact: over at most `faiss_approximate_above` allowed vectors it is an exact scan of
the storage restricted by an IDSelector; over more, an HNSW search restricted by the same selector.
`write()` measures HNSW's recall@10 against exact search on stored vectors used as queries.

A single query runs on one OpenMP thread: on this shared 2-core machine FAISS's default of two threads made
one exact query over 20k vectors take 23 ms instead of 1.3 ms (threads waiting for a busy core).
The setting is per calling thread (libgomp), so server threads do not affect each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bot.config import Settings

RECALL_SAMPLE = 200  # stored vectors used as queries to measure recall
RECALL_K = 10


def spec(n: int, settings: Settings) -> dict[str, Any]:
    """The kind of index for n vectors, as the manifest records it (what a rebuild must match)."""
    if n <= settings.faiss_approximate_above:
        return {"kind": "flat"}
    return {"kind": "hnsw", "m": settings.hnsw_m, "ef_construction": settings.hnsw_ef_construction}


def build(vectors: np.ndarray, kind: dict[str, Any], ef_search: int = 64) -> Any:
    """A FAISS index over (n, dim) L2-normalised vectors: IndexFlatIP or IndexHNSWFlat (inner product)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if kind["kind"] == "flat":
        fi = faiss.IndexFlatIP(x.shape[1])
    else:
        fi = faiss.IndexHNSWFlat(x.shape[1], int(kind["m"]), faiss.METRIC_INNER_PRODUCT)
        fi.hnsw.efConstruction = int(kind["ef_construction"])
        fi.hnsw.efSearch = ef_search  # saved in the file: used by plain fi.search() (e.g. retrieve.similar)
    fi.add(x)
    return fi


def write(vectors: np.ndarray, path: Path, settings: Settings) -> dict[str, Any]:
    """Build and save the index for these vectors; return its manifest entry (kind, and recall for HNSW)."""
    kind = spec(len(vectors), settings)
    fi = build(vectors, kind, settings.hnsw_ef_search)
    faiss.write_index(fi, str(path))
    out = dict(kind, vectors=len(vectors))
    if is_approximate(fi):
        out.update(ef_search=settings.hnsw_ef_search, recall_at_10=round(recall_at_k(fi, settings.hnsw_ef_search), 4),
                   recall_queries=min(RECALL_SAMPLE, fi.ntotal))
    return out


def is_approximate(fi: Any) -> bool:
    return isinstance(fi, faiss.IndexHNSW)


def storage(fi: Any) -> Any:
    """The exact (flat) index holding the vectors: fi itself, or an HNSW index's storage."""
    return faiss.downcast_index(fi.storage) if is_approximate(fi) else fi


def exact_top(fi: Any, queries: np.ndarray, k: int) -> np.ndarray:
    """Ids of the exact top k for each query (ground truth for recall)."""
    return storage(fi).search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def recall_at_k(fi: Any, ef_search: int, k: int = RECALL_K, sample: int = RECALL_SAMPLE, seed: int = 0) -> float:
    """Mean share of the exact top k that the index's search finds, over `sample` stored vectors as queries."""
    n = fi.ntotal
    if not n:
        return 1.0
    ids = np.random.default_rng(seed).choice(n, size=min(sample, n), replace=False)
    queries = fi.reconstruct_batch(ids.astype(np.int64)) if hasattr(fi, "reconstruct_batch") else \
        np.vstack([fi.reconstruct(int(i)) for i in ids])
    truth = exact_top(fi, queries, min(k, n))
    found = search(fi, queries, min(k, n), ef_search)[1]
    return float(np.mean([len(set(t[t >= 0]) & set(f[f >= 0])) / max(1, int((t >= 0).sum()))
                          for t, f in zip(truth, found)]))


@contextmanager
def _threads_for(n_queries: int) -> Iterator[None]:
    """One OpenMP thread in this thread while it searches for a single query (see the module doc)."""
    before = faiss.omp_get_max_threads()
    if n_queries != 1 or before == 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def search(fi: Any, queries: np.ndarray, k: int, ef_search: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and ids of the k nearest (HNSW looks at max(ef_search, k) candidates)."""
    with _threads_for(len(queries)):
        if is_approximate(fi):
            return fi.search(queries, k, params=faiss.SearchParametersHNSW(efSearch=max(ef_search, k)))
        return fi.search(queries, k)


def search_allowed(
    fi: Any, queries: np.ndarray, k: int, allowed: np.ndarray, ef_search: int, exact_up_to: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest among the allowed ids (bool per id).

    In a flat index, or up to `exact_up_to` allowed ids, the search is exact and returns all of them with
    their scores (k is ignored), as a flat index searched to full depth did; above, an HNSW search
    restricted to them: approximate like the unfiltered search, and slower the fewer ids are allowed.
    """
    ids = np.flatnonzero(allowed)
    if not len(ids):
        return np.full((len(queries), 1), -np.inf, np.float32), np.full((len(queries), 1), -1, np.int64)
    bitmap = np.packbits(allowed.astype(bool), bitorder="little")
    selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bitmap))
    with _threads_for(len(queries)):
        if not is_approximate(fi) or len(ids) <= exact_up_to:
            return storage(fi).search(queries, len(ids), params=faiss.SearchParameters(sel=selector))
        return fi.search(queries, k, params=faiss.SearchParametersHNSW(sel=selector, efSearch=max(ef_search, k)))
