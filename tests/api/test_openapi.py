"""The OpenAPI schema documents every endpoint with examples; schemathesis finds no 5xx and no undocumented responses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bot.api.app import create_app
from bot.config import Settings

from .conftest import ADMIN_TOKEN, KIOSK_KEYS, WECHAT_AES_KEY, WECHAT_APP_ID, WECHAT_TOKEN


def test_every_endpoint_is_documented_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/healthz", "/api/search", "/api/documents/{doc_id}", "/api/chat", "/api/feedback",
                 "/api/admin/feedback", "/api/admin/person", "/api/admin/reload", "/api/kiosk/ask", "/wechat"]:
        assert path in paths, path
        for op in paths[path].values():
            assert op.get("summary"), (path, op)
    schemas = spec["components"]["schemas"]
    for name in ["SearchIn", "SearchOut", "ChatIn", "ChatOut", "FeedbackIn", "KioskIn", "KioskOut", "DocumentOut", "ErrorOut"]:
        assert schemas[name].get("examples"), name
    assert "text/event-stream" in paths["/api/chat"]["post"]["responses"]["200"]["content"]


@pytest.fixture(scope="module")
def api_schema(built_index: Settings, tmp_path_factory: pytest.TempPathFactory, assistant_factory) -> Iterator[object]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    keys = tmp / "keys.json"
    keys.write_text(json.dumps(KIOSK_KEYS), encoding="utf-8")
    settings = built_index.model_copy(
        update={
            "state_db": tmp / "state.sqlite3", "admin_token": SecretStr(ADMIN_TOKEN), "kiosk_keys_file": keys,
            "wechat_token": SecretStr(WECHAT_TOKEN), "wechat_app_id": WECHAT_APP_ID,
            "wechat_aes_key": SecretStr(WECHAT_AES_KEY),
        }
    )
    app = create_app(settings, assistant_factory=assistant_factory, background_load=False)
    with TestClient(app):  # runs the lifespan; schemathesis then calls the same app object
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    """Positive (schema-valid) requests: never a 5xx, and every response is documented (status, type, body)."""
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    )
