"""Console API for reviewing answers: every channel's turns with filters, the queue of thumbs-down and refused
questions, marking one handled with a note, attaching the worker's wording to a passage, CSV export."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from bot.api.errors import NotFound
from bot.console.accounts import Invalid
from bot.console.auth import OfficerDep
from bot.errors import BotError
from bot.questions import MAX_QUESTION_CHARS, append_sidecar, locator_for
from bot.store.console import ConsoleError, TurnQuery

router = APIRouter(prefix="/console/api", include_in_schema=False)
CSV_COLUMNS = ["created_at", "channel", "station", "session_id", "message_id", "question", "answer", "citations",
               "refused", "reason", "rating", "comment", "review_status", "review_note"]


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "handled"] = "handled"
    note: str = Field("", max_length=2000)


class LayQuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    passage_id: str = Field(min_length=1, max_length=200)
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


def _day(value: str | None, field: str) -> float | None:
    if not value:
        return None
    try:
        return time.mktime(datetime.strptime(value, "%Y-%m-%d").timetuple())
    except ValueError:
        raise Invalid(f"{field} 应为 YYYY-MM-DD 格式的日期") from None


def turn_query(
    since: Annotated[str | None, Query(max_length=10)] = None,
    until: Annotated[str | None, Query(max_length=10)] = None,
    channel: Annotated[Literal["chat", "kiosk", "wechat", "cli", ""] | None, Query()] = None,
    rating: Annotated[Literal["up", "down", "none", ""] | None, Query()] = None,
    outcome: Annotated[Literal["refused", "answered", ""] | None, Query()] = None,
    queue: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> TurnQuery:
    end = _day(until, "截止日期")
    return TurnQuery(since=_day(since, "起始日期"), until=end + 86400 if end is not None else None,
                     channel=channel or None, rating=rating or None, outcome=outcome or None, queue=queue,
                     text=(q or "").strip() or None)


QueryDep = Annotated[TurnQuery, Depends(turn_query)]


@router.get("/turns")
def turns(
    _: OfficerDep, request: Request, query: QueryDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    total, items = request.app.state.store.console.turns(query, limit, offset)
    return {"total": total, "items": items}


@router.get("/turns.csv")
def turns_csv(officer: OfficerDep, request: Request, query: QueryDep) -> Response:
    """The filtered turns as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    store = request.app.state.store
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    offset, total = 0, 1
    while offset < total:
        total, items = store.console.turns(query, 500, offset)
        for t in items:
            review = t["review"] or {}
            writer.writerow([
                datetime.fromtimestamp(t["created_at"]).strftime("%Y-%m-%d %H:%M:%S"), t["channel"], t["station"] or "",
                t["session_id"], t["message_id"], t["question"], t["answer"],
                "；".join(c.get("label") or c.get("passage_id", "") for c in t["citations"]),
                "是" if t["refused"] else "否", t["reason"] or "", t["rating"] or "", t["comment"],
                review.get("status", ""), review.get("note", ""),
            ])
        offset += 500
    store.console.audit(officer.name, "review_export", "turns.csv", {"rows": total})
    name = f"unionbot-turns-{time.strftime('%Y%m%d')}.csv"
    return Response(buf.getvalue().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/turns/{message_id}/review")
def review(message_id: str, body: ReviewIn, officer: OfficerDep, request: Request) -> dict[str, Any]:
    store = request.app.state.store
    try:
        store.console.set_review(message_id, body.status, body.note.strip(), officer.name)
    except ConsoleError as e:
        raise NotFound(str(e)) from e
    store.console.audit(officer.name, "review", message_id, {"status": body.status, "note": body.note.strip()[:200]})
    return {"message_id": message_id, "status": body.status}


@router.post("/turns/{message_id}/lay-question", status_code=201)
def attach_lay_question(message_id: str, body: LayQuestionIn, officer: OfficerDep, request: Request) -> dict[str, Any]:
    """Write the worker's wording to the sidecar of the document whose passage should have answered; the next
    rebuild attaches it to that passage."""
    store, assistant = request.app.state.store, request.app.state.assistant
    if store.turn(message_id) is None:
        raise NotFound("找不到这条问答。")
    if assistant is None:
        raise NotFound("索引尚未加载。")
    try:
        passage = assistant.passage(body.passage_id)
    except BotError as e:
        raise NotFound(str(e)) from e
    index = assistant.index
    same_file = [p for p in index.passages if p.source_file == passage.source_file]
    locator = locator_for(passage, same_file)
    path = append_sidecar(Path(request.app.state.settings.documents_dir) / passage.source_file, locator, body.question)
    sidecar = Path(passage.source_file).with_name(path.name).as_posix()
    store.console.audit(officer.name, "lay_question_add", sidecar,
                        {"message_id": message_id, "passage_id": passage.id, "locator": locator,
                         "question": " ".join(body.question.split())})
    return {"sidecar": sidecar, "locator": locator, "passage_id": passage.id, "label": passage.label}


@router.get("/passages")
def find_passages(
    _: OfficerDep, request: Request, q: Annotated[str, Query(min_length=1, max_length=300)],
    k: Annotated[int, Query(ge=1, le=20)] = 8,
) -> list[dict[str, Any]]:
    """Passages to attach a question to: the search results for the worker's question."""
    assistant = request.app.state.assistant
    if assistant is None:
        return []
    return [{"id": h.passage.id, "label": h.passage.label, "title": h.passage.title, "doc_type": h.passage.doc_type,
             "text": h.passage.text, "source_file": h.passage.source_file} for h in assistant.search(q, top_k=k)]
