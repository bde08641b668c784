"""HTTP errors: one JSON shape `{"error": code, "message": "中文 (English)"}` for every failure.

Core errors (bot.errors) are mapped by class; the service's own errors below carry their status.
Nothing here ever puts a stack trace into a response.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.errors import (
    BackendError,
    BotError,
    DocumentNotFound,
    IndexMismatch,
    IndexNotFound,
    InvalidQuery,
    UnknownBackend,
)

logger = logging.getLogger(__name__)


class ApiError(BotError):
    """A failure of the HTTP layer itself (auth, limits, loading) with its status and error code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = headers or {}


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    status, code = 404, "not_found"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class RateLimited(ApiError):
    status, code = 429, "rate_limited"


class ServiceLoading(ApiError):
    status, code = 503, "loading"


class Conflict(ApiError):
    status, code = 409, "conflict"


# Core error class -> (status, code); the first matching base wins.
_CORE: list[tuple[type[BotError], int, str]] = [
    (InvalidQuery, 422, "invalid_query"),
    (DocumentNotFound, 404, "not_found"),
    (IndexNotFound, 503, "index_not_found"),
    (IndexMismatch, 503, "index_mismatch"),
    (BackendError, 502, "backend_error"),
    (UnknownBackend, 500, "unknown_backend"),
]

# Pydantic error type -> Chinese explanation ({ctx} keys are filled in).
_ZH = {
    "missing": "缺少必填字段",
    "string_too_short": "内容不能为空",
    "string_too_long": "内容太长，最多 {max_length} 字",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "greater_than": "必须大于 {gt}",
    "less_than": "必须小于 {lt}",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "string_type": "应为文本",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "literal_error": "取值无效，可选：{expected}",
    "enum": "取值无效，可选：{expected}",
    "model_type": "应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "extra_forbidden": "不支持的字段",
    "json_invalid": "JSON 格式错误",
    "json_type": "JSON 格式错误",
    "value_error": "{error}",
    "string_pattern_mismatch": "格式不正确",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **extra}


def _json(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status, headers=headers)


async def bot_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """The one mapping from BotError subclasses to HTTP status and JSON."""
    assert isinstance(exc, BotError)
    if isinstance(exc, ApiError):
        status, code, headers = exc.status, exc.code, exc.headers
    else:
        status, code, headers = 500, "error", None
        for cls, st, cd in _CORE:
            if isinstance(exc, cls):
                status, code = st, cd
                break
    log = logger.info if isinstance(exc, ServiceLoading) else logger.warning if status < 500 else logger.error
    log("%s %s -> %d %s: %s", request.method, request.url.path, status, code, exc)
    return _json(status, code, str(exc), headers)


def _field(loc: tuple[Any, ...]) -> str:
    """'top_k' or 'filters.year_from' from ('body', 'filters', 'year_from'); the location itself is dropped."""
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)]
    return ".".join(parts) or "请求体"


async def validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """422 (or 400 for malformed JSON) with a Chinese and an English sentence per problem."""
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") in ("json_invalid", "json_type") for e in errors):
        return _json(400, "malformed_json", "请求体不是合法的 JSON。(The request body is not valid JSON.)")
    zh, en, detail = [], [], []
    for e in errors[:10]:
        field = _field(tuple(e.get("loc", ())))
        ctx = {k: _ctx(v) for k, v in (e.get("ctx") or {}).items()}
        try:
            text = _ZH.get(e.get("type", ""), "取值无效").format(**ctx)
        except (KeyError, IndexError):
            text = "取值无效"
        zh.append(f"{field}：{text}")
        en.append(f"{field}: {e.get('msg', 'invalid')}")
        detail.append({"field": field, "type": e.get("type"), "msg": e.get("msg")})
    message = f"请求参数有误：{'；'.join(zh)}。(Invalid request: {'; '.join(en)}.)"
    logger.info("%s %s -> 422: %s", request.method, request.url.path, "; ".join(en))
    return _json(422, "invalid_request", message, detail=detail)


def _ctx(v: Any) -> str:
    try:
        return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    except TypeError:
        return str(v)


_HTTP_ZH = {
    404: ("not_found", "找不到该地址。"),
    405: ("method_not_allowed", "不支持该请求方法。"),
    406: ("not_acceptable", "不支持所请求的格式。"),
    415: ("unsupported_media_type", "不支持该内容类型，请发送 JSON。"),
}


async def http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Framework HTTP errors (unknown route, wrong method) in the same JSON shape."""
    assert isinstance(exc, StarletteHTTPException)
    code, zh = _HTTP_ZH.get(exc.status_code, ("http_error", "请求无法处理。"))
    return _json(exc.status_code, code, f"{zh}({exc.detail})", dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    app.add_exception_handler(BotError, bot_error_handler)
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)


INTERNAL_ERROR = error_body("internal_error", "服务器内部错误，请稍后再试。(Internal server error; please try again later.)")
