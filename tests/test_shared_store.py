"""Two API processes on one PostgreSQL server (issue 9): a conversation started on one continues on the
other, and feedback given on one is listed by the other."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.index import build_index
from bot.config import Settings
from tests.conftest import write_tiny_corpus
from tests.postgres import PostgresServer
from tests.processes import free_port, start_server, stop_server

TOKEN = "shared-store-admin-token"


def _serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_server([sys.executable, "-m", "bot", "serve", "--port", str(port)], f"{url}/healthz", "bot serve",
                        log=log, env=env)
    return proc, url


@pytest.fixture
def two_servers(tmp_path: Path, postgres: PostgresServer) -> Iterator[tuple[str, str]]:
    docs = write_tiny_corpus(tmp_path / "documents")
    build_index(Settings(_env_file=None, documents_dir=docs, index_dir=tmp_path / "index", embedder="fake"))  # type: ignore[call-arg]
    env = {**os.environ, "UNIONBOT_EMBEDDER": "fake", "UNIONBOT_INDEX_DIR": str(tmp_path / "index"),
           "UNIONBOT_DATABASE_URL": postgres.database(), "UNIONBOT_ADMIN_TOKEN": TOKEN}
    procs = []
    try:
        a, url_a = _serve(env, tmp_path / "a.log")
        procs.append(a)
        b, url_b = _serve(env, tmp_path / "b.log")
        procs.append(b)
        yield url_a, url_b
    finally:
        for p in procs:
            stop_server(p)


def test_two_processes_share_conversations_and_feedback(two_servers: tuple[str, str]) -> None:
    url_a, url_b = two_servers
    first = httpx.post(f"{url_a}/api/chat", json={"message": "扬州工会驿站有多少家？"}, timeout=30).json()
    assert not first["refused"] and "120家" in first["answer"]
    # The follow-up goes to the other process, which only knows the first question through the database.
    second = httpx.post(f"{url_b}/api/chat", json={"message": "他们为货车司机提供什么？", "session_id": first["session_id"]},
                        timeout=30).json()
    assert second["session_id"] == first["session_id"] and not second["refused"]
    assert any("扬州" in c["text"] for c in second["citations"])
    r = httpx.post(f"{url_b}/api/feedback", json={"session_id": first["session_id"], "message_id": first["message_id"],
                                                  "rating": "down", "comment": "换个说法"}, timeout=30)
    assert r.status_code == 201
    listing = httpx.get(f"{url_a}/api/admin/feedback", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    assert listing["total"] == 1 and listing["items"][0]["comment"] == "换个说法"
    assert listing["items"][0]["question"] == "扬州工会驿站有多少家？"
    person = httpx.get(f"{url_b}/api/admin/person", params={"session_id": first["session_id"]},
                       headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    turns = person["sessions"][0]["turns"]
    assert [t["question"] for t in turns] == ["扬州工会驿站有多少家？", "他们为货车司机提供什么？"]
    assert "扬州" in turns[1]["resolved_question"]  # process B resolved the follow-up with A's turn as history
