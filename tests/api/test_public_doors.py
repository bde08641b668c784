"""Public doors: rate limits with Retry-After, client addresses behind proxies, CORS, security headers, no secrets in logs."""

from __future__ import annotations

import json
import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from starlette.requests import Request
from wechatpy.crypto import WeChatCrypto

from bot.api import deps
from bot.api.deps import ADDRESS_SHARE, RateLimiter, client_address, trusted_networks
from bot.api.routes.wechat import NOTHING_PENDING
from bot.api.security import OTHER_CSP, PAGE_CSP
from bot.config import Settings

from .conftest import ClientFactory
from .test_wechat import OPENID, post, reply_content, signed, text_xml

QUESTION = "试用期最长可以约定多久？"
ORIGIN = "https://union.example.org"


def _chat(client: TestClient, session_id: str | None = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    body = {"message": QUESTION, **({"session_id": session_id} if session_id else {})}
    return client.post("/api/chat", json=body, headers=headers or {})


def _assert_429(r) -> int:  # type: ignore[no-untyped-def]
    assert r.status_code == 429, r.text
    body = r.json()
    assert body["error"] == "rate_limited" and "太频繁" in body["message"]
    wait = int(r.headers["retry-after"])  # whole seconds
    assert 1 <= wait <= 60
    return wait


# ---------------------------------------------------------------- the limiter


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    now = SimpleNamespace(t=1000.0)
    monkeypatch.setattr(deps.time, "monotonic", lambda: now.t)
    return now


def test_limiter_says_truthfully_how_long_to_wait(clock: SimpleNamespace) -> None:
    limiter = RateLimiter(2)
    assert limiter.check("a") == 0
    clock.t += 10
    assert limiter.check("a") == 0
    clock.t += 10
    assert limiter.check("a") == 40  # the first hit leaves the window 60 s after it was made
    clock.t += 39.5
    assert limiter.check("a") == 1  # rounded up: never sooner than allowed
    clock.t += 0.5
    assert limiter.check("a") == 0
    assert limiter.check("b") == 0  # other keys are separate


def test_a_refused_request_is_recorded_in_no_bucket(clock: SimpleNamespace) -> None:
    limiter = RateLimiter(1)
    assert limiter.check_all({"session:s": 1, "address:x": 5}) == 0
    assert limiter.check_all({"session:s": 1, "address:x": 5}) == 60  # the session bucket is spent
    for _ in range(4):
        assert limiter.check_all({"address:x": 5}) == 0  # the refusal above took nothing from the address


def test_limiter_forgets_idle_clients_and_keeps_at_most_max_keys(clock: SimpleNamespace) -> None:
    limiter = RateLimiter(5, max_keys=3)
    for key in "abcde":
        limiter.check(key)
    assert len(limiter) == 3
    clock.t += 61
    limiter.check("f")
    assert len(limiter) == 1  # everyone else was idle for a whole window


def test_zero_means_no_limit(clock: SimpleNamespace) -> None:
    limiter = RateLimiter(0)
    assert all(limiter.check("a") == 0 for _ in range(1000))
    assert len(limiter) == 0


# ---------------------------------------------------------------- client address


def _request(peer: str, forwarded: list[str], trusted: list[str]) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(trusted_networks=trusted_networks(trusted)))
    headers = [(b"x-forwarded-for", v.encode()) for v in forwarded]
    return Request({"type": "http", "headers": headers, "client": (peer, 4321), "app": app})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("203.0.113.7", ["198.51.100.1"], [], "203.0.113.7"),  # no trusted proxy: the header is ignored
        ("203.0.113.7", ["198.51.100.1"], ["10.0.0.0/8"], "203.0.113.7"),  # the peer is not our proxy
        ("10.0.0.2", [], ["10.0.0.0/8"], "10.0.0.2"),  # our proxy, but it sent no header
        ("10.0.0.2", ["198.51.100.1"], ["10.0.0.2"], "198.51.100.1"),
        ("10.0.0.2", ["6.6.6.6, 198.51.100.1"], ["10.0.0.2"], "198.51.100.1"),  # a client's own header cannot win
        ("10.0.0.2", ["6.6.6.6", "198.51.100.1"], ["10.0.0.2"], "198.51.100.1"),  # two header lines
        ("10.0.0.2", ["198.51.100.1, 10.0.0.9"], ["10.0.0.0/8"], "198.51.100.1"),  # two trusted proxies in a row
        ("::ffff:10.0.0.2", ["2001:db8::5"], ["10.0.0.0/8"], "2001:db8::5"),  # IPv4-mapped peer, IPv6 client
        ("10.0.0.2", ["10.0.0.3"], ["10.0.0.0/8"], "10.0.0.3"),  # only proxies: the farthest one
    ],
)
def test_client_address(peer: str, forwarded: list[str], trusted: list[str], expected: str) -> None:
    assert client_address(_request(peer, forwarded, trusted)) == expected


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    assert Settings(trusted_proxies=["127.0.0.1", " 10.0.0.0/8 "]).trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]
    with pytest.raises(ValidationError):
        Settings(trusted_proxies=["proxy.example.org"])


# ---------------------------------------------------------------- chat and WeChat limits


def test_chat_is_limited_per_session(make_client: ClientFactory) -> None:
    c = make_client(public_rate_per_minute=2)
    first = _chat(c)
    assert first.status_code == 200
    session = first.json()["session_id"]
    assert _chat(c, session).status_code == 200
    assert _chat(c, session).status_code == 200
    _assert_429(_chat(c, session))
    assert _chat(c).status_code == 200  # a new session from the same address is still welcome


def test_chat_is_limited_per_address_behind_a_trusted_proxy(make_client: ClientFactory) -> None:
    c = make_client(public_rate_per_minute=1, trusted_proxies=["10.0.0.2"])
    proxied = TestClient(c.app, client=("10.0.0.2", 40000))  # the same app, reached through our proxy
    worker = {"X-Forwarded-For": "198.51.100.1"}
    for _ in range(ADDRESS_SHARE):  # each without a session id: only the address bucket counts
        assert _chat(proxied, headers=worker).status_code == 200
    _assert_429(_chat(proxied, headers=worker))
    _assert_429(_chat(proxied, headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.1"}))  # a spoofed hop changes nothing
    assert _chat(proxied, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200  # another worker
    assert _chat(c).status_code == 200  # a direct client has its own address


def test_zero_turns_the_public_limits_off(make_client: ClientFactory) -> None:
    c = make_client(public_rate_per_minute=0)
    session = _chat(c).json()["session_id"]
    assert all(_chat(c, session).status_code == 200 for _ in range(12))
    texts = [reply_content(post(c, text_xml(f"加班费怎么算？第{i}次", 9000 + i))) for i in range(3)]
    assert all("太频繁" not in t for t in texts)


def test_wechat_is_limited_per_openid_with_a_text_reply(make_client: ClientFactory) -> None:
    c = make_client(public_rate_per_minute=2)
    assert "依据：" in reply_content(post(c, text_xml(QUESTION, 8001)))
    assert "依据：" in reply_content(post(c, text_xml("加班费怎么算？", 8002)))
    slow_down = reply_content(post(c, text_xml("工伤怎么认定？", 8003)))
    assert "太频繁" in slow_down and re.search(r"\d+ 秒", slow_down), slow_down
    assert c.app.state.store.wechat_message("8003") is None  # not asked, not kept
    assert post(c, text_xml(QUESTION, 8001)) == "success"  # WeChat redelivering an answered MsgId is not refused
    assert reply_content(post(c, text_xml("查看回答", 8004))) == NOTHING_PENDING  # 「查看回答」 is not counted
    other = text_xml("加班费怎么算？", 8005, openid="oUser_0002")
    r = c.post("/wechat", params=signed(), content=other.encode())
    assert "依据：" in (ET.fromstring(r.text).findtext("Content") or "")  # another sender is answered


# ---------------------------------------------------------------- CORS


def _preflight(client: TestClient, origin: str, method: str = "POST", headers: str = "content-type"):  # type: ignore[no-untyped-def]
    return client.options(
        "/api/chat",
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


def test_cors_only_for_configured_origins(make_client: ClientFactory) -> None:
    c = make_client(cors_origins=[ORIGIN])
    ok = _preflight(c, ORIGIN)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert set(ok.headers["access-control-allow-methods"].replace(" ", "").split(",")) == {"GET", "POST"}
    assert _preflight(c, ORIGIN, headers="x-api-key").status_code == 200
    refused = _preflight(c, "https://evil.example.com")
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    assert _preflight(c, ORIGIN, method="DELETE").status_code == 400
    assert _preflight(c, ORIGIN, headers="x-custom").status_code == 400
    r = c.get("/healthz", headers={"Origin": ORIGIN})
    assert r.headers["access-control-allow-origin"] == ORIGIN and "Retry-After" in r.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in c.get("/healthz", headers={"Origin": "https://evil.example.com"}).headers


def test_no_cross_origin_access_by_default(client: TestClient) -> None:
    refused = _preflight(client, ORIGIN)
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
    r = client.post("/api/search", json={"query": "试用期"}, headers={"Origin": ORIGIN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


# ---------------------------------------------------------------- security headers

PAGES = ["/", "/search", "/kiosk", "/docs"]


def _assert_common_headers(r) -> None:  # type: ignore[no-untyped-def]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert "camera=()" in r.headers["permissions-policy"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_security_headers_and_nothing_inline(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    _assert_common_headers(r)
    csp = r.headers["content-security-policy"]
    assert csp == PAGE_CSP and "unsafe" not in csp and "frame-ancestors 'none'" in csp
    # What the policy would block: inline scripts, <style> blocks, style attributes, inline event handlers.
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", r.text), "inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", r.text), "inline style or handler"
    for ref in re.findall(r'(?:src|href)="(/[^"]*)"', r.text):
        assert client.get(ref).status_code == 200, ref  # every script and style it names is served by us


def test_other_responses_have_security_headers_too(client: TestClient) -> None:
    for r in (
        client.get("/healthz"),
        client.get("/no-such-page"),
        client.get("/assets/chat.js"),
        client.get("/docs/init.js"),
        client.post("/api/chat", content=b"x" * 100_000, headers={"content-type": "application/json"}),  # 413
    ):
        _assert_common_headers(r)
        assert r.headers["content-security-policy"] == OTHER_CSP, r.url
    init = client.get("/docs/init.js")
    assert init.headers["content-type"].startswith("text/javascript") and "/openapi.json" in init.text


# ---------------------------------------------------------------- secrets never in logs

SECRET_ADMIN = "adm-7Q4zK1-SECRET"
SECRET_KIOSK = "kio-5RtY2p-SECRET"
SECRET_WECHAT_TOKEN = "wxt-9Lm3Vb-SECRET"
SECRET_AES = "AesSecretZq81Xw" + "k" * 28  # 43 characters, as WeChat issues them
SECRET_LLM = "sk-llm-3Hh8Dd-SECRET"
SECRETS = [SECRET_ADMIN, SECRET_KIOSK, SECRET_WECHAT_TOKEN, SECRET_AES, SECRET_LLM]
LOGGERS = ["bot", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "httpcore", "openai", "langchain", "wechatpy"]


@pytest.fixture
def echoing_llm() -> Iterator[str]:
    """An OpenAI-compatible server that refuses every key and repeats it in the error (some proxies do)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"error": {"message": f"invalid api key: {self.headers.get('Authorization')}"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_no_secret_reaches_the_logs(
    make_client: ClientFactory, keys_file: Path, echoing_llm: str, caplog: pytest.LogCaptureFixture
) -> None:
    keys_file.write_text(json.dumps({SECRET_KIOSK: "测试驿站"}, ensure_ascii=False), encoding="utf-8")
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    c = make_client(
        admin_token=SECRET_ADMIN, wechat_token=SECRET_WECHAT_TOKEN, wechat_aes_key=SECRET_AES,
        llm_base_url=echoing_llm, llm_model="stub", llm_api_key=SECRET_LLM, public_rate_per_minute=2,
    )
    admin = {"Authorization": f"Bearer {SECRET_ADMIN}"}

    # Workers and officers.
    assert c.get("/kiosk", params={"key": SECRET_KIOSK}).status_code == 200  # how a kiosk browser opens the page
    chat = _chat(c)
    assert chat.status_code == 200  # answered extractively after the LLM refused the key
    session = chat.json()["session_id"]
    assert c.post("/api/search", json={"query": "快递员入会"}).status_code == 200
    feedback = {"session_id": session, "message_id": chat.json()["message_id"], "rating": "up"}
    assert c.post("/api/feedback", json=feedback).status_code == 201
    for _ in range(3):
        last = _chat(c, session)
    assert last.status_code == 429
    # Kiosk and admin, with right and wrong credentials.
    kiosk = {"X-API-Key": SECRET_KIOSK}
    assert c.post("/api/kiosk/ask", json={"message": "工伤认定要多久？"}, headers=kiosk).status_code == 200
    assert c.post("/api/kiosk/ask", json={"message": "工伤"}, headers={"X-API-Key": SECRET_KIOSK[:-1]}).status_code == 401
    assert c.get("/api/admin/feedback", headers=admin).status_code == 200
    assert c.get("/api/admin/kiosk-usage", headers={"X-Admin-Token": SECRET_ADMIN}).status_code == 200
    assert c.get("/api/admin/feedback", headers={"Authorization": f"Bearer {SECRET_ADMIN}x"}).status_code == 401
    # WeChat: URL check, a bad signature, 安全模式 with a good and a bad message signature.
    sig = signed(token=SECRET_WECHAT_TOKEN)
    assert c.get("/wechat", params={**sig, "echostr": "e1"}).text == "e1"
    assert c.get("/wechat", params={**sig, "signature": "0" * 40, "echostr": "e2"}).status_code == 403
    crypto = WeChatCrypto(SECRET_WECHAT_TOKEN, SECRET_AES, "wx0123456789abcdef")
    encrypted = crypto.encrypt_message(text_xml(QUESTION, 7101), sig["nonce"], sig["timestamp"])
    params = {**sig, "encrypt_type": "aes", "msg_signature": ET.fromstring(encrypted).findtext("MsgSignature")}
    assert c.post("/wechat", params=params, content=encrypted.encode()).status_code == 200
    assert c.post("/wechat", params={**params, "msg_signature": "f" * 40}, content=encrypted.encode()).status_code == 403
    assert c.post("/wechat", params=params, content=b"<xml><Encrypt>bm9wZQ==</Encrypt></xml>").status_code in (400, 403)

    # The test's own client logs its request URLs through httpx ("http://testserver/kiosk?key=..."); the
    # service never sees those lines. Every other record, the LLM client's httpx lines included, is checked.
    records = [r for r in caplog.records if not (r.name.startswith("httpx") and "http://testserver" in r.getMessage())]
    assert any(r.name == "bot.api.access" for r in records) and any(r.name.startswith("httpx") for r in records)
    assert any("LLM call failed" in r.getMessage() for r in records)  # the echoed key went through the log call
    logged = "\n".join(caplog.handler.format(r) for r in records)  # message, exception text and stack included
    for secret in SECRETS:
        assert secret not in logged, f"secret {secret!r} appears in the logs"


def test_settings_never_show_secrets() -> None:
    secrets = {
        "admin_token": SECRET_ADMIN, "wechat_token": SECRET_WECHAT_TOKEN, "wechat_aes_key": SECRET_AES,
        "llm_api_key": SECRET_LLM,
    }
    settings = Settings(**secrets)  # type: ignore[arg-type]
    assert all(isinstance(getattr(settings, k), SecretStr) for k in secrets)
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    for name, value in secrets.items():  # one at a time: a long input would be cut short in the message anyway
        with pytest.raises(ValidationError) as failed:
            Settings(top_k=0, **{name: value})  # type: ignore[arg-type]
        shown += f"{failed.value} {failed.value!r}"  # what a start-up failure prints
    for value in secrets.values():
        assert value not in shown
