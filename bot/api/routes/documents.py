"""GET /api/documents/{id}: a passage's whole statute or article, for the "read in context" view."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from bot.api.deps import AssistantDep
from bot.api.schemas import DocumentOut, ErrorOut, SearchResult, SimilarOut, errors
from bot.api.routes.search import highlight_spans

router = APIRouter(prefix="/api/documents", tags=["documents"])

DocId = Annotated[str, Path(min_length=1, max_length=200, description="文档 ID，或段落 ID（doc_id:position）", examples=["laodong-hetong-fa:18"])]
NOT_FOUND = {**errors(422, 503), 404: {"model": ErrorOut, "description": "找不到文档或段落"}}


@router.get("/{doc_id}", response_model=DocumentOut, responses=NOT_FOUND, summary="阅读全文")
def document(doc_id: DocId, assistant: AssistantDep) -> DocumentOut:
    """All passages of the document in order; `focus` is the position of the requested passage."""
    focus = assistant.passage(doc_id).position if ":" in doc_id else None
    return DocumentOut.from_passages(assistant.document(doc_id), focus)


@router.get("/{doc_id}/similar", response_model=SimilarOut, responses=NOT_FOUND, summary="相似案例")
def similar(
    doc_id: DocId, assistant: AssistantDep, k: Annotated[int, Query(ge=1, le=20, description="条数")] = 5
) -> SimilarOut:
    """Passages from other documents most like this passage (e.g. how other places handled the same problem)."""
    hits = assistant.similar(doc_id, k=k)
    return SimilarOut(results=[SearchResult.from_hit(h, highlight_spans(h.passage.text, [])) for h in hits])
