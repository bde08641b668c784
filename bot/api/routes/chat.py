"""POST /api/chat: workers' questions, answered with citations; `stream=true` sends Server-Sent Events."""

from __future__ import annotations

import json
import re
from typing import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from bot.api.deps import AssistantDep, limit_chat
from bot.api.schemas import ERRORS, ChatIn, ChatOut
from bot.handoff import offer_handoff

router = APIRouter(prefix="/api", tags=["chat"])

# A piece ends after sentence-final punctuation (with closing quotes and citation markers such as [1]) or a newline;
# the pieces join back to exactly the text.
_PIECE = re.compile(r".*?(?:(?:[。！？；!?;]+|……)[”’」』）)】]*(?:\s*\[\d+\])*\n?|\n|$)", re.S)

SSE_DOC = (
    "`stream=true` 时返回 `text/event-stream`：先发 `event: start`（session_id, message_id），"
    "再逐句发 `event: delta`（{\"text\": ...}，拼接即完整回答），最后发 `event: done`（与非流式响应相同的 JSON）。"
)


@router.post(
    "/chat",
    response_model=ChatOut,
    responses={
        200: {"content": {"text/event-stream": {"example": 'event: delta\ndata: {"text": "用人单位应当……"}\n\n'}}, "description": SSE_DOC},
        **{k: ERRORS[k] for k in (400, 413, 422, 429, 503)},
    },
    summary="职工问答",
)
def chat(request: Request, body: ChatIn, assistant: AssistantDep) -> ChatOut | StreamingResponse:
    """Answer a question (continuing the session when session_id is given), citing the passages used.

    Limited per session and per client address (settings.public_rate_per_minute): 429 with Retry-After.
    """
    limit_chat(request, body.session_id)
    assistant.check_query(body.message)
    answer = assistant.ask(body.message, session_id=body.session_id, channel="chat")
    out = ChatOut.from_answer(answer, offer_handoff(f"{body.message}\n{answer.question}", answer.refused))
    if body.stream:
        return StreamingResponse(
            sse_events(out),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return out


def pieces(text: str) -> list[str]:
    """Sentence-sized pieces of text whose concatenation is exactly text."""
    return [m.group(0) for m in _PIECE.finditer(text) if m.group(0)]


def sse_event(event: str, data: object, event_id: int) -> str:
    payload = json.dumps(data, ensure_ascii=False)
    return f"id: {event_id}\nevent: {event}\ndata: {payload}\n\n"


def sse_events(out: ChatOut) -> Iterator[str]:
    n = 0
    yield sse_event("start", {"session_id": out.session_id, "message_id": out.message_id}, n)
    for piece in pieces(out.answer):
        n += 1
        yield sse_event("delta", {"text": piece}, n)
    yield sse_event("done", out.model_dump(mode="json"), n + 1)
