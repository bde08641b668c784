"""POST /api/admin/reload: admin only; a new index is used at once; a broken one leaves the old in service."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from .conftest import ADMIN_TOKEN, ClientFactory

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_reload_needs_the_admin_token(client: TestClient) -> None:
    assert client.post("/api/admin/reload").status_code == 401


def test_reload_switches_and_clears_the_search_cache(client: TestClient) -> None:
    old, cache = client.app.state.assistant, client.app.state.search_cache
    first = client.post("/api/search", json={"query": "工会驿站"}).json()["results"]
    r = client.post("/api/admin/reload", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "reloaded" and r.json()["index"]["passages"] > 0
    assert client.app.state.assistant is not old and client.app.state.search_cache is not cache
    assert client.post("/api/search", json={"query": "工会驿站"}).json()["results"] == first


def test_a_broken_new_index_keeps_the_old_one_in_service(make_client: ClientFactory, tmp_path) -> None:
    import shutil

    client = make_client()
    settings = client.app.state.settings
    copy = tmp_path / "index"
    shutil.copytree(settings.index_dir, copy)
    client.app.state.settings = settings.model_copy(update={"index_dir": copy})
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    (copy / "manifest.json").write_text(json.dumps({**manifest, "format_version": -1}), encoding="utf-8")
    old = client.app.state.assistant
    r = client.post("/api/admin/reload", headers=ADMIN)
    assert r.status_code == 409 and "仍在使用原来的索引" in r.json()["message"]
    assert client.app.state.assistant is old
    assert client.post("/api/chat", json={"message": "公司拖欠工资怎么办？"}).status_code == 200
