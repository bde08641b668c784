"""GET /healthz: index facts once loaded, 503 while loading."""

from __future__ import annotations

from fastapi import APIRouter

from bot.api.deps import AssistantDep
from bot.api.schemas import ERRORS, HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut, responses={503: ERRORS[503]}, summary="健康检查")
def healthz(assistant: AssistantDep) -> HealthOut:
    """200 with passages, documents, embedder and build time once the index is loaded; 503 before."""
    stats = assistant.stats()
    return HealthOut(
        passages=int(stats.get("passages", 0)),
        documents=int(stats.get("documents", 0)),
        embedder=str(stats.get("embedder", "")),
        built_at=None if stats.get("built_at") is None else str(stats["built_at"]),
    )
