"""Console API for hand-off requests (转人工): open requests, claim one, reply (shown in the worker's chat), close."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bot.api.errors import NotFound
from bot.console.accounts import Conflict
from bot.console.auth import OfficerDep
from bot.store.console import ConsoleError

router = APIRouter(prefix="/console/api/handoffs", include_in_schema=False)


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


@router.get("")
def handoffs(
    _: OfficerDep, request: Request,
    status: Annotated[Literal["open", "claimed", "answered", "closed", ""] | None, Query()] = None,
) -> list[dict[str, Any]]:
    return request.app.state.store.console.handoffs(status or None)


@router.get("/{handoff_id}")
def handoff(handoff_id: int, _: OfficerDep, request: Request) -> dict[str, Any]:
    found = request.app.state.store.console.handoff(handoff_id)
    if found is None:
        raise NotFound("没有这个转人工请求。")
    return found


def _change(request: Request, officer_name: str, action: str, handoff_id: int, do: Any, **detail: Any) -> dict[str, Any]:
    console = request.app.state.store.console
    try:
        do()
    except ConsoleError as e:
        raise Conflict(str(e)) from e
    console.audit(officer_name, action, f"handoff:{handoff_id}", detail)
    found = console.handoff(handoff_id)
    assert found is not None
    return found


@router.post("/{handoff_id}/claim")
def claim(handoff_id: int, officer: OfficerDep, request: Request) -> dict[str, Any]:
    console = request.app.state.store.console
    return _change(request, officer.name, "handoff_claim", handoff_id,
                   lambda: console.claim_handoff(handoff_id, officer.name))


@router.post("/{handoff_id}/reply")
def reply(handoff_id: int, body: ReplyIn, officer: OfficerDep, request: Request) -> dict[str, Any]:
    console = request.app.state.store.console
    return _change(request, officer.name, "handoff_reply", handoff_id,
                   lambda: console.reply_handoff(handoff_id, officer.name, body.text.strip()), chars=len(body.text))


@router.post("/{handoff_id}/close")
def close(handoff_id: int, officer: OfficerDep, request: Request) -> dict[str, Any]:
    console = request.app.state.store.console
    return _change(request, officer.name, "handoff_close", handoff_id, lambda: console.close_handoff(handoff_id))
