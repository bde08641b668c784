"""POST /api/kiosk/ask: touch-screen kiosks in union stations, one X-API-Key per station."""

from __future__ import annotations

from fastapi import APIRouter

from bot.api.deps import AssistantDep, SettingsDep, StationDep, StoreDep
from bot.api.schemas import ERRORS, ErrorOut, KioskIn, KioskOut

router = APIRouter(prefix="/api/kiosk", tags=["kiosk"])


@router.post(
    "/ask",
    response_model=KioskOut,
    responses={
        401: {"model": ErrorOut, "description": "缺少或无效的 X-API-Key"},
        429: {"model": ErrorOut, "description": "超过本站点的频率限制，见 Retry-After"},
        **{k: ERRORS[k] for k in (400, 413, 422, 503)},
    },
    summary="驿站终端问答",
)
def kiosk_ask(body: KioskIn, station: StationDep, assistant: AssistantDep, store: StoreDep, settings: SettingsDep) -> KioskOut:
    """A short answer; the station's conversation is forgotten after kiosk_idle_seconds without questions."""
    assistant.check_query(body.message)
    session_id = None if body.new_session else store.kiosk_session(station, settings.kiosk_idle_seconds)
    answer = assistant.ask(body.message, session_id=session_id, short=True, channel="kiosk", station=station)
    store.set_kiosk_session(station, answer.session_id)
    return KioskOut.from_answer(answer, settings.kiosk_idle_seconds)
