"""Console sign-in: argon2 password hashes, server-side sessions in an HttpOnly SameSite=Strict cookie, a CSRF
token per session (sent back in the X-CSRF-Token header on every state-changing request), failed sign-ins
limited per account name and per address, and roles."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request, Response

from bot.api.errors import ApiError, Forbidden, RateLimited, Unauthorized
from bot.config import Settings
from bot.store import Store
from bot.store.console import Account

SESSION_COOKIE = "ub_console"
LOGIN_CSRF_COOKIE = "ub_login_csrf"
CSRF_HEADER = "x-csrf-token"
COOKIE_PATH = "/console"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MIN_PASSWORD_CHARS = 8


class CsrfRejected(ApiError):
    status, code = 403, "csrf"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, the library's defaults (64 MiB, 3 passes)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"密码至少 {MIN_PASSWORD_CHARS} 位。(The password needs at least {MIN_PASSWORD_CHARS} characters.)")
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an unknown account costs as much time as a known one."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Officer:
    """The signed-in account of a request, with its session's CSRF token."""

    account: Account
    csrf: str
    token_hash: str

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def is_admin(self) -> bool:
        return self.account.role == "admin"


def _store(request: Request) -> Store:
    return request.app.state.store


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def session_officer(request: Request) -> Officer | None:
    """The officer signed in with this request's cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 128:
        return None
    found = _store(request).console.session_account(token_hash(token))
    if found is None:
        return None
    return Officer(found[0], found[1], token_hash(token))


def _same_origin(request: Request) -> bool:
    """A browser's Origin (when sent) must be this host: a second line of defence behind the token."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


def require_officer(request: Request) -> Officer:
    """Any signed-in officer; state-changing requests must carry the session's CSRF token."""
    officer = session_officer(request)
    if officer is None:
        raise Unauthorized("请先登录工作台。(Sign in to the console first.)")
    if request.method not in SAFE_METHODS:
        given = request.headers.get(CSRF_HEADER, "")
        if not _same_origin(request) or not secrets.compare_digest(given.encode(), officer.csrf.encode()):
            raise CsrfRejected("请求缺少有效的安全令牌，请刷新页面后重试。(CSRF token missing or wrong.)")
    return officer


def require_admin(officer: Annotated[Officer, Depends(require_officer)]) -> Officer:
    if not officer.is_admin:
        raise Forbidden("只有管理员可以进行此操作。(Admins only.)")
    return officer


OfficerDep = Annotated[Officer, Depends(require_officer)]
AdminOfficerDep = Annotated[Officer, Depends(require_admin)]


def check_login_csrf(request: Request) -> None:
    """The sign-in form's double-submit token: the header must equal the cookie set with the sign-in page."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not cookie or not _same_origin(request) or not secrets.compare_digest(cookie.encode(), given.encode()):
        raise CsrfRejected("登录页面已过期，请刷新后重试。(CSRF token missing or wrong.)")


def check_sign_in_rate(request: Request, name: str) -> None:
    """429 while the name or the address has too many recent failures (checked before the password)."""
    settings, console = _settings(request), _store(request).console
    now = time.time()
    since = now - settings.console_failure_window
    for key, limit in ((f"name:{name}", settings.console_failures_per_name),
                       (f"addr:{client_address(request)}", settings.console_failures_per_address)):
        count, oldest = console.failures(key, since)
        if count >= limit:
            wait = max(1, int((oldest or now) + settings.console_failure_window - now))
            raise RateLimited(f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试。(Too many failed sign-ins.)",
                              headers={"Retry-After": str(wait)})


def sign_in(request: Request, response: Response, name: str, password: str) -> Officer:
    """Check the password (after the rate limits), start a session and set its cookie."""
    store = _store(request)
    check_sign_in_rate(request, name)
    account = store.console.account_by_name(name)
    ok = verify_password(account.password_hash if account else None, password)
    if not ok or account is None or not account.active:
        store.console.add_failure([f"name:{name}", f"addr:{client_address(request)}"])
        store.console.audit(name[:64], "sign_in_failed", client_address(request))
        raise Unauthorized("账号或密码错误。(Wrong name or password.)")
    store.console.clear_failures(f"name:{name}")
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    hours = _settings(request).console_session_hours
    store.console.add_session(token_hash(token), account.id, csrf, time.time() + hours * 3600)
    store.console.signed_in(account.id)
    store.console.audit(account.name, "sign_in", client_address(request))
    set_cookie(request, response, SESSION_COOKIE, token, int(hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return Officer(account, csrf, token_hash(token))


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
