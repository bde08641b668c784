"""The web router without a browser: pages, assets, security headers, the kiosk's idle setting and the QR code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.config import Settings


class _NoAssistant:
    """The pages need no index; the API routes are tested in tests/api."""

    def close(self) -> None:
        pass


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(index_dir=tmp_path / "index", state_db=tmp_path / "state.sqlite3", kiosk_idle_seconds=45)
    app = create_app(settings, assistant_factory=lambda s, store: _NoAssistant(), background_load=False)
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(("path", "title"), [("/", "工会问答助手"), ("/search", "案例检索"), ("/kiosk", "工会驿站")])
def test_pages_are_chinese_html_with_a_strict_csp(client: TestClient, path: str, title: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN">' in r.text and title in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "http://" not in r.text.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing from the network
    assert "https://" not in r.text


def test_kiosk_idle_time_comes_from_settings(client: TestClient) -> None:
    r = client.get("/kiosk")
    assert 'data-idle-seconds="45"' in r.text
    assert "{{" not in r.text


def test_every_asset_a_page_references_is_served(client: TestClient) -> None:
    import re

    for page in ("/", "/search", "/kiosk"):
        for ref in re.findall(r'(?:href|src)="(/assets/[^"]+)"', client.get(page).text):
            r = client.get(ref)
            assert r.status_code == 200, ref
    assert client.get("/assets/chat.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/assets/chat.css").headers["content-type"].startswith("text/css")
    assert client.get("/favicon.ico").status_code == 200


@pytest.mark.parametrize("bad", ["../routes.py", "..%2Froutes.py", "chat.html", "nope.js", "%2E%2E/%2E%2E/config.py"])
def test_assets_never_leave_the_static_folder(client: TestClient, bad: str) -> None:
    assert client.get("/assets/" + bad).status_code == 404


def test_qr_code_is_an_svg_of_the_text(client: TestClient) -> None:
    r = client.get("/api/qr", params={"text": "http://127.0.0.1:8000/?q=怎样加入工会？"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.lstrip().startswith("<?xml") or "<svg" in r.text[:200]
    assert "<path" in r.text


@pytest.mark.parametrize("text", ["0" * 146, "9" * 600, "工" * 600])
def test_qr_code_encodes_long_digit_and_chinese_texts(client: TestClient, text: str) -> None:
    r = client.get("/api/qr", params={"text": text})  # numeric mode used to fail with a 500
    assert r.status_code == 200 and "<path" in r.text


@pytest.mark.parametrize("params", [{}, {"text": ""}, {"text": "x" * 601}])
def test_qr_code_rejects_empty_or_long_text(client: TestClient, params: dict[str, str]) -> None:
    r = client.get("/api/qr", params=params)
    assert r.status_code == 422
    assert r.json()["message"]
