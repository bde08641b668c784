"""The FastAPI app: wires routers, loads the Assistant once at start-up, maps errors, limits bodies, logs requests."""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import __version__, console
from bot.api import docs, errors
from bot.api.deps import KioskKeys, LruCache, RateLimiter, trusted_networks
from bot.api.routes import chat, documents, feedback, handoff, health, kiosk, privacy, reload, search, wechat
from bot.api.security import SecurityHeaders
from bot.api.switch import SEARCH_CACHE_SIZE, warm_up
from bot.config import Settings, get_settings
from bot.store import Store, open_store

logger = logging.getLogger(__name__)
access_log = logging.getLogger("bot.api.access")

AssistantFactory = Callable[[Settings, Store], Any]  # the Assistant keeps its turns in the app's store
# Request headers a page on an allowed origin may send (Content-Type is always allowed by CORSMiddleware).
CORS_HEADERS = ["Authorization", "X-Admin-Token", "X-API-Key", "X-Request-ID"]


def _default_factory(settings: Settings, store: Store) -> Any:
    from bot.assistant import Assistant

    return Assistant.from_settings(settings, store)


def create_app(
    settings: Settings | None = None,
    assistant_factory: AssistantFactory | None = None,
    background_load: bool = True,
) -> FastAPI:
    """Build the app. The conversation store opens (and migrates) first; the index loads in the lifespan: in a
    thread (healthz is 503 meanwhile) or before serving."""
    settings = settings or get_settings()
    factory = assistant_factory or _default_factory

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = open_store(settings)
        wechat.setup(app, settings)
        loader = threading.Thread(target=_load, args=(app, settings, factory), name="index-loader", daemon=True)
        if background_load:
            loader.start()
        else:
            loader.run()
        yield
        wechat.shutdown(app)
        if app.state.assistant is not None:
            app.state.assistant.close()
            app.state.assistant = None
        app.state.store.close()

    app = FastAPI(
        title="工会问答助手 unionbot",
        version=__version__,
        description="工会工作与劳动法律问答：职工问答、案例检索、驿站终端、微信公众号。",
        lifespan=lifespan,
        docs_url=None,  # served by bot.api.docs from the package, not from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.assistant_factory = factory
    app.state.reload_lock = threading.Lock()
    app.state.assistant = None
    app.state.load_error = None
    app.state.kiosk_keys = KioskKeys(settings.kiosk_keys_file)
    app.state.kiosk_limiter = RateLimiter(settings.kiosk_rate_per_minute)
    app.state.public_limiter = RateLimiter(settings.public_rate_per_minute)  # /api/chat: sessions and addresses
    app.state.trusted_networks = trusted_networks(settings.trusted_proxies)
    app.state.search_cache = LruCache[Any](SEARCH_CACHE_SIZE)

    errors.install(app)
    docs.install(app)
    for module in (health, search, documents, chat, feedback, handoff, privacy, reload, kiosk, wechat):
        app.include_router(module.router)
    # Web pages (bot/web, owned by the web engineer) plug in here when that module exists.
    web_router = _web_router()
    if web_router is not None:
        app.include_router(web_router)
    app.include_router(console.router)  # the officers' console (/console)

    _document_errors(app)
    # The last added runs first: security headers on everything, then the access log, CORS, the body limit.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       larger={console.UPLOAD_PATH: settings.max_upload_bytes})
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,  # empty: no origin but our own may call the API from a browser
        allow_methods=["GET", "POST"],
        allow_headers=CORS_HEADERS,
        expose_headers=["Retry-After", "X-Request-ID"],
        max_age=600,
    )
    app.add_middleware(AccessLog)  # sees every request, turns crashes into a plain 500
    app.add_middleware(SecurityHeaders)  # outermost: the 500s and 413s of the others get the headers too
    return app


def _document_errors(app: FastAPI) -> None:
    """Make the OpenAPI schema tell the truth: every 422 (any router's) has our ErrorOut shape, not FastAPI's."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        ref = {"$ref": "#/components/schemas/ErrorOut"}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                r422 = op.get("responses", {}).get("422")
                if r422 and "HTTPValidationError" in json.dumps(r422):
                    op["responses"]["422"] = {"description": "参数无效", "content": {"application/json": {"schema": ref}}}
        components = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" not in json.dumps(schema.get("paths", {})):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _web_router() -> Any:
    """`bot.web.routes.router` if the web pages are installed, else None."""
    try:
        module = importlib.import_module("bot.web.routes")
    except ModuleNotFoundError as e:
        if e.name in ("bot.web", "bot.web.routes"):
            return None
        raise
    return module.router


def _load(app: FastAPI, settings: Settings, factory: AssistantFactory) -> None:
    t0 = time.perf_counter()
    try:
        assistant = factory(settings, app.state.store)
        warm_up(assistant)
        app.state.assistant = assistant
    except Exception as e:  # noqa: BLE001 - keep serving 503 with the reason instead of dying silently
        app.state.load_error = str(e)
        logger.exception("loading the index from %s failed", settings.index_dir)
        return
    logger.info("index loaded from %s in %.1f s", settings.index_dir, time.perf_counter() - t0)


async def _send_json(send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": raw})


class BodyLimit:
    """Reject request bodies larger than max_bytes (or larger[path] for those paths) with 413, by Content-Length
    or while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self.larger.get(scope["path"], self.max_bytes)
        too_big = errors.error_body(
            "payload_too_large",
            f"请求体过大，上限为 {max_bytes} 字节。(Request body exceeds {max_bytes} bytes.)",
        )
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > max_bytes):
            return await _send_json(send, 413, too_big)
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                return await _send_json(send, 413, too_big)
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AccessLog:
    """One JSON log line per request with its latency; unhandled errors become a 500 without details."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        rid = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex[:16]
        status = 500
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            logger.exception("unhandled error in %s %s (request %s)", scope["method"], scope["path"], rid)
            status = 500
            if not started:
                await _send_json(send, 500, errors.INTERNAL_ERROR, [(b"x-request-id", rid.encode())])
        finally:
            client = scope.get("client")
            access_log.info(
                json.dumps(
                    {
                        "rid": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - t0) * 1000, 1),
                        "client": client[0] if client else None,
                    },
                    ensure_ascii=False,
                )
            )
