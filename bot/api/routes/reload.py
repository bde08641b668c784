"""POST /api/admin/reload: switch a running service to the index just built, without a restart (admin token)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from bot.api.deps import AdminDep
from bot.api.errors import Conflict
from bot.api.routes.feedback import AUTH
from bot.api.switch import reload_index
from bot.errors import BotError

router = APIRouter(prefix="/api/admin", tags=["admin"])


@router.post("/reload", responses={409: {"description": "另一次重新加载正在进行，或新索引无法加载（仍用原索引）"}, **AUTH},
             summary="重新加载索引")
async def reload(_: AdminDep, request: Request) -> dict[str, Any]:
    """Load the index in the configured folder (after `unionbot index`) and switch to it atomically; requests in
    flight finish on the old index. Each API replica reloads separately."""
    t0 = time.perf_counter()
    try:
        assistant = await run_in_threadpool(reload_index, request.app)
    except BlockingIOError:
        raise Conflict("另一次重新加载正在进行，请稍后再试。(Another reload is running.)") from None
    except BotError as e:
        raise Conflict(f"新索引无法加载，仍在使用原来的索引：{e}") from None
    return {"status": "reloaded", "seconds": round(time.perf_counter() - t0, 2), "index": assistant.stats()}
