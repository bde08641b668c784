"""POST /api/search: officers' case search with filters, facets and highlight spans."""

from __future__ import annotations

import time

from fastapi import APIRouter, Response

from bot import zh
from bot.api.deps import AssistantDep, SearchCacheDep
from bot.api.schemas import ERRORS, Facets, SearchIn, SearchOut, SearchResult

router = APIRouter(prefix="/api", tags=["search"])


@router.post("/search", response_model=SearchOut, responses={k: ERRORS[k] for k in (400, 413, 422, 503)}, summary="检索案例与法规")
def search(body: SearchIn, assistant: AssistantDep, cache: SearchCacheDep, response: Response) -> SearchOut:
    """Best passages for the query within the filters, with counts by region, type and year.

    The index is read-only while the service runs, so answers to repeated requests are kept in a small LRU
    (header `X-Cache: hit|miss`); embedding the query is by far the costliest step.
    """
    t0 = time.perf_counter()
    key = body.model_dump_json()
    out = cache.get(key)
    response.headers["X-Cache"] = "miss" if out is None else "hit"
    if out is None:
        filters = body.filters.to_filters()
        hits = assistant.search(body.query, top_k=body.top_k, filters=filters)
        facets = Facets(**assistant.facets(body.query, filters)) if body.facets else Facets()
        terms = highlight_terms(body.query)
        out = SearchOut(
            results=[SearchResult.from_hit(h, highlight_spans(h.passage.text, terms)) for h in hits],
            facets=facets,
            took_ms=0.0,
        )
        cache.put(key, out)
    return out.model_copy(update={"took_ms": round((time.perf_counter() - t0) * 1000, 1)})


def highlight_terms(query: str) -> list[str]:
    """Query words worth marking in results (longest first, single characters dropped)."""
    return sorted({w for w in zh.words(query.strip()) if len(w) >= 2}, key=len, reverse=True)


def highlight_spans(text: str, terms: list[str], limit: int = 50) -> list[tuple[int, int]]:
    """Sorted, non-overlapping [start, end) spans of the terms in text."""
    spans: list[tuple[int, int]] = []
    for term in terms:
        start = text.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = text.find(term, start + len(term))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged[:limit]
