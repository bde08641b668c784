"""POST /api/feedback from users; GET /api/admin/feedback and kiosk usage for officers (admin token)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from bot.api.deps import AdminDep, StoreDep
from bot.api.errors import NotFound
from bot.api.schemas import ERRORS, ErrorOut, FeedbackIn, FeedbackItem, FeedbackList, FeedbackOut, KioskUsage, errors

router = APIRouter(tags=["feedback"])

AUTH = {
    401: {"model": ErrorOut, "description": "令牌无效"},
    403: {"model": ErrorOut, "description": "管理接口未开启"},
    **errors(422),
}


@router.post(
    "/api/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses={404: {"model": ErrorOut, "description": "找不到该回答"}, **{k: ERRORS[k] for k in (400, 413, 422)}},
    summary="评价回答",
)
def add_feedback(body: FeedbackIn, store: StoreDep) -> FeedbackOut:
    """Store a thumbs up/down (and comment) on one answer, for officers to review."""
    turn = store.turn(body.message_id)
    if turn is None or turn.session_id != body.session_id:
        raise NotFound(
            f"找不到会话 {body.session_id} 中的回答 {body.message_id}。"
            "(No answer with that message_id in that session; use the ids returned by /api/chat.)"
        )
    return FeedbackOut(id=store.add_feedback(body.message_id, body.rating, body.comment.strip()))


@router.get("/api/admin/feedback", response_model=FeedbackList, responses=AUTH, tags=["admin"], summary="查看评价")
def list_feedback(
    _: AdminDep,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    rating: Literal["up", "down"] | None = None,
) -> FeedbackList:
    """Feedback newest first, each with the question and answer it rates."""
    items = [FeedbackItem(**row) for row in store.feedback(limit, offset, rating)]
    return FeedbackList(total=store.feedback_count(rating), items=items)


@router.get("/api/admin/kiosk-usage", response_model=list[KioskUsage], responses=AUTH, tags=["admin"], summary="驿站终端用量")
def kiosk_usage(_: AdminDep, store: StoreDep) -> list[KioskUsage]:
    """Requests and rate-limited requests per station per day."""
    return [KioskUsage(**row) for row in store.kiosk_usage()]
