"""The OpenAPI schema documents every endpoint with examples; schemathesis finds no 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from bot.api.app import create_app
from bot.config import Settings


def test_every_endpoint_is_documented_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ["/healthz", "/api/search", "/api/documents/{doc_id}", "/api/chat", "/api/feedback",
                 "/api/admin/feedback", "/api/kiosk/ask", "/wechat"]:
        assert path in paths, path
        for op in paths[path].values():
            assert op.get("summary"), (path, op)
    schemas = spec["components"]["schemas"]
    for name in ["SearchIn", "SearchOut", "ChatIn", "ChatOut", "FeedbackIn", "KioskIn", "KioskOut", "DocumentOut", "ErrorOut"]:
        assert schemas[name].get("examples"), name
    assert "text/event-stream" in paths["/api/chat"]["post"]["responses"]["200"]["content"]


@pytest.fixture(scope="module")
def api_schema(built_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    state = tmp_path_factory.mktemp("schemathesis") / "state.sqlite3"
    app = create_app(built_index.model_copy(update={"state_db": state}), background_load=False)
    with TestClient(app):  # runs the lifespan; schemathesis then calls the same app object
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=[not_a_server_error])
