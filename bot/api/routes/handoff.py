"""Hand-off to a union officer (转人工): the worker chat asks for an officer and reads the replies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bot.api.deps import StoreDep
from bot.api.errors import ApiError
from bot.api.schemas import ERRORS, ErrorOut, HandoffIn, HandoffList, HandoffOut
from bot.store.console import ConsoleError

router = APIRouter(prefix="/api/handoff", tags=["handoff"])


class HandoffRefused(ApiError):
    status, code = 409, "handoff_refused"


@router.post(
    "",
    response_model=HandoffOut,
    status_code=201,
    responses={409: {"model": ErrorOut, "description": "会话不存在，或已有待处理的请求"}, **{k: ERRORS[k] for k in (400, 413, 422)}},
    summary="转人工",
)
def request_officer(body: HandoffIn, store: StoreDep) -> HandoffOut:
    """Ask a union officer to take over; the reply appears in this conversation (GET /api/handoff)."""
    try:
        handoff_id = store.console.add_handoff(body.session_id, body.question.strip(), body.contact.strip(),
                                               body.message_id)
    except ConsoleError as e:
        raise HandoffRefused(str(e)) from e
    found = store.console.handoff(handoff_id)
    assert found is not None
    return HandoffOut(**found)


@router.get("", response_model=HandoffList, responses={k: ERRORS[k] for k in (400, 422)}, summary="转人工进展与回复")
def my_requests(
    store: StoreDep,
    session_id: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="聊天返回的 session_id")],
) -> HandoffList:
    """This conversation's requests with the officers' replies (the chat page polls this)."""
    return HandoffList(items=[HandoffOut(**h) for h in store.console.session_handoffs(session_id)])
