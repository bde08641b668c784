"""Web pages: the worker chat (/), the officers' case search (/search) and the station kiosk (/kiosk).

Plain HTML/CSS/JS shipped in bot/web/static/ (no build step, nothing fetched from the network at run
time). The pages talk to the JSON API of bot/api; this router only adds what the pages need on top:
their HTML, their assets and a QR code image for the kiosk.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Pages load only their own assets: no inline script, no third-party host, no network at run time. Their
# Content-Security-Policy and other security headers come from bot.api.security (on every response of the app).
_PAGE_HEADERS = {"Cache-Control": "no-cache"}
_MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
MAX_QR_CHARS = 600

router = APIRouter(tags=["web"])


def _page(name: str, replacements: dict[str, str] | None = None) -> HTMLResponse:
    html = (STATIC_DIR / name).read_text(encoding="utf-8")
    for key, value in (replacements or {}).items():
        html = html.replace("{{" + key + "}}", value)
    return HTMLResponse(html, headers=_PAGE_HEADERS)


def _settings(request: Request) -> Any:
    """The app's Settings if create_app kept them on app.state, else None."""
    state = request.app.state
    settings = getattr(state, "settings", None)
    if settings is None:
        assistant = getattr(state, "assistant", None)
        settings = getattr(assistant, "settings", None)
    return settings


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def chat_page() -> HTMLResponse:
    """Worker chat, WeChat style, mobile first."""
    return _page("chat.html")


@router.get("/search", response_class=HTMLResponse, include_in_schema=False)
def search_page() -> HTMLResponse:
    """Officers' case search with facets and a document view."""
    return _page("search.html")


@router.get("/kiosk", response_class=HTMLResponse, include_in_schema=False)
def kiosk_page(request: Request) -> HTMLResponse:
    """Union-station touch screen; the idle time comes from settings (?idle=SECONDS overrides it in the page)."""
    settings = _settings(request)
    idle = int(getattr(settings, "kiosk_idle_seconds", 60) or 60)
    return _page("kiosk.html", {"IDLE_SECONDS": str(idle)})


@router.get("/assets/{name:path}", include_in_schema=False)
def asset(name: str) -> FileResponse:
    """Files under bot/web/static/ (CSS, JS, icons); never anything outside it."""
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR not in path.parents or not path.is_file() or path.suffix not in _MEDIA_TYPES:
        raise HTTPException(status_code=404, detail="没有这个文件。(Not found.)")
    return FileResponse(path, media_type=_MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "icon.svg", media_type="image/svg+xml")


@router.get(
    "/api/qr",
    tags=["web"],
    summary="QR code (SVG) for a short text or link",
    responses={200: {"content": {"image/svg+xml": {}}, "description": "An SVG image."}},
)
def qr_code(
    text: Annotated[str, Query(min_length=1, max_length=MAX_QR_CHARS, examples=["http://127.0.0.1:8000/?q=怎样加入工会"])],
) -> Response:
    """The kiosk shows this so visitors can open the same answer on their phones."""
    import qrcode
    import qrcode.image.svg
    import qrcode.util

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=10)
    # Byte mode always: qrcode's automatic numeric mode fails on long all-digit texts (146+ digits).
    qr.add_data(qrcode.util.QRData(text.encode("utf-8"), mode=qrcode.util.MODE_8BIT_BYTE))
    qr.make(fit=True)
    img = qr.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    buf = io.BytesIO()
    img.save(buf)
    return Response(buf.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})
