"""Console pages: one HTML shell per page (the page's script fills it from the console API), the sign-in
page, and the console's own assets. Signed-out visitors are sent to sign in; officers get 403 on admin pages."""

from __future__ import annotations

import html
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from bot.console.auth import LOGIN_CSRF_COOKIE, Officer, session_officer, set_cookie

STATIC_DIR = Path(__file__).resolve().parent / "static"
HEADERS = {"Cache-Control": "no-store"}  # CSP and the other security headers: bot.api.security, on every page
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}

# page key -> (path, title, admins only, shown in the navigation)
PAGES: dict[str, tuple[str, str, bool, bool]] = {
    "dashboard": ("/console", "概览", False, True),
    "documents": ("/console/documents", "知识库", False, True),
    "document": ("/console/document", "文档详情", False, False),
    "review": ("/console/review", "问答审阅", False, True),
    "handoffs": ("/console/handoffs", "转人工", False, True),
    "accounts": ("/console/accounts", "账号管理", True, True),
    "keys": ("/console/keys", "驿站密钥", True, True),
    "audit": ("/console/audit", "操作日志", True, True),
}

router = APIRouter(include_in_schema=False)


def _template(name: str, values: dict[str, str]) -> str:
    text = (STATIC_DIR / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _nav(current: str, officer: Officer) -> str:
    links = []
    for key, (path, title, admin, shown) in PAGES.items():
        if not shown or (admin and not officer.is_admin):
            continue
        here = ' aria-current="page"' if key == current or (current == "document" and key == "documents") else ""
        links.append(f'<a href="{path}"{here} data-page="{key}">{html.escape(title)}</a>')
    return "\n        ".join(links)


def _shell(key: str, officer: Officer) -> HTMLResponse:
    _, title, _, _ = PAGES[key]
    body = _template("console.html", {
        "PAGE": key, "TITLE": html.escape(title), "CSRF": html.escape(officer.csrf), "NAME": html.escape(officer.name),
        "ROLE": "管理员" if officer.is_admin else "工会干部", "ROLE_KEY": officer.account.role,
        "NAV": _nav(key, officer),
    })
    return HTMLResponse(body, headers=HEADERS)


def _forbidden(officer: Officer) -> HTMLResponse:
    body = _template("console.html", {
        "PAGE": "forbidden", "TITLE": "无权访问", "CSRF": html.escape(officer.csrf), "NAME": html.escape(officer.name),
        "ROLE": "工会干部", "ROLE_KEY": officer.account.role, "NAV": _nav("", officer),
    })
    return HTMLResponse(body, status_code=403, headers=HEADERS)


def _page(key: str, request: Request) -> Response:
    officer = session_officer(request)
    if officer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)
    if PAGES[key][2] and not officer.is_admin:
        return _forbidden(officer)
    return _shell(key, officer)


def _make_page_route(key: str) -> None:
    def page(request: Request) -> Response:
        return _page(key, request)

    page.__name__ = f"console_{key}_page"
    router.add_api_route(PAGES[key][0], page, methods=["GET"], response_class=HTMLResponse)


for _key in PAGES:
    _make_page_route(_key)


@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    """The sign-in form; it carries a fresh double-submit CSRF token (also set as a cookie)."""
    if session_officer(request) is not None:
        return RedirectResponse("/console", status_code=303)
    token = secrets.token_urlsafe(24)
    response = HTMLResponse(_template("login.html", {"CSRF": token}), headers=HEADERS)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.get("/console/assets/{name}")
def console_asset(name: str) -> FileResponse:
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file() or path.suffix not in MEDIA_TYPES:
        raise HTTPException(status_code=404, detail="没有这个文件。(Not found.)")
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"})
