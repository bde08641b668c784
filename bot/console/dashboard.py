"""Console API for the dashboard: the figures its charts are drawn from."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from bot.console.auth import OfficerDep
from bot.store.console import day_of

router = APIRouter(prefix="/console/api", include_in_schema=False)


@router.get("/dashboard")
def dashboard(_: OfficerDep, request: Request, days: Annotated[int, Query(ge=1, le=365)] = 14) -> dict[str, Any]:
    """Figures over the last `days` days (today included); every day appears, with zeros."""
    now = time.time()
    start = time.mktime(time.strptime(day_of(now - (days - 1) * 86400), "%Y-%m-%d"))
    data = request.app.state.store.console.dashboard(start)
    data["days"] = [day_of(start + i * 86400 + 3600) for i in range(days)]
    assistant = request.app.state.assistant
    if assistant is not None:  # name documents by their current title
        for row in data["cited"]:
            rows = assistant.index.rows_of_doc.get(row["doc_id"])
            if rows:
                p = assistant.index.passages[rows[0]]
                row["label"] = f"《{p.title}》" if p.doc_type == "law" else p.title
    return data
