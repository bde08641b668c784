"""/healthz, start-up loading, error shape, request ids, access log, crashes."""

from __future__ import annotations

import logging
import threading

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.assistant import Assistant
from bot.config import Settings
from bot.store import Store

from .conftest import ClientFactory, wait_until


def test_healthz_reports_index_facts(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["passages"] > 4 and body["documents"] >= 3
    assert body["embedder"]
    assert r.headers["x-request-id"]


def test_healthz_is_503_while_loading_then_200(api_settings: Settings, assistant_factory) -> None:
    release = threading.Event()

    def slow_factory(settings: Settings, store: Store) -> Assistant:
        release.wait(10)
        return assistant_factory(settings, store)

    app = create_app(api_settings, assistant_factory=slow_factory, background_load=True)
    with TestClient(app) as c:
        r = c.get("/healthz")
        assert r.status_code == 503
        assert r.json()["error"] == "loading" and "加载" in r.json()["message"]
        assert r.headers["retry-after"] == "5"
        assert c.post("/api/search", json={"query": "试用期"}).status_code == 503
        release.set()
        assert wait_until(lambda: c.get("/healthz").status_code == 200)
        assert c.post("/api/search", json={"query": "试用期"}).status_code == 200


def test_missing_index_gives_503_with_what_to_run(make_client: ClientFactory, tmp_path) -> None:
    c = make_client(index_dir=tmp_path / "no-index")
    r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["error"] == "loading"
    assert "索引不可用" in r.json()["message"]


def test_unknown_route_and_wrong_method_use_the_error_shape(client: TestClient) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.get("/api/search")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_one_structured_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    import json

    with caplog.at_level(logging.INFO, logger="bot.api.access"):
        client.post("/api/search", json={"query": "试用期"}, headers={"X-Request-ID": "req-42"})
        client.post("/api/search", json={"query": ""})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "bot.api.access"]
    assert [(ln["path"], ln["status"]) for ln in lines] == [("/api/search", 200), ("/api/search", 422)]
    assert lines[0]["rid"] == "req-42" and lines[0]["ms"] >= 0 and lines[0]["method"] == "POST"


class _Crashing(Assistant):
    """The real assistant with a bug in one method."""

    def document(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail /etc/passwd")


def test_unexpected_error_is_a_plain_500_without_trace(make_client: ClientFactory, assistant_factory) -> None:
    def factory(settings: Settings, store: Store) -> Assistant:
        real = assistant_factory(settings, store)
        return _Crashing(settings, real.index, real.embedder)

    c = make_client(factory)
    r = c.get("/api/documents/anything")
    assert r.status_code == 500
    assert r.json()["error"] == "internal_error"
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    assert r.headers["x-request-id"]
