"""POST /api/chat: answers with citations, SSE framing, bad input, sessions across restarts."""

from __future__ import annotations

import json
import sqlite3

import pytest
from fastapi.testclient import TestClient

from .conftest import ClientFactory, stop

QUESTION = "试用期最长可以约定多久？"


def test_chat_answers_with_citations_and_a_session(client: TestClient) -> None:
    r = client.post("/api/chat", json={"message": QUESTION})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] and body["refused"] is False
    assert body["session_id"] and body["message_id"]
    assert body["citations"], body
    cite = body["citations"][0]
    assert cite["n"] == 1 and cite["label"].startswith("《劳动合同法》") and cite["text"]
    assert f"[{cite['n']}]" in body["answer"]


def test_out_of_domain_question_is_refused_kindly(client: TestClient) -> None:
    body = client.post("/api/chat", json={"message": "今天股票大盘会涨吗？"}).json()
    assert body["refused"] is True and body["citations"] == [] and body["answer"]


def _events(text: str) -> list[tuple[str, dict]]:
    """Parse an SSE body strictly: blocks separated by a blank line, each with id, event and one data line."""
    assert text.endswith("\n\n")
    out = []
    for block in text[:-2].split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) == {"id", "event", "data"}, block
        out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_stream_sends_start_deltas_and_done(client: TestClient) -> None:
    with client.stream("POST", "/api/chat", json={"message": QUESTION, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"
        text = "".join(r.iter_text())
    events = _events(text)
    kinds = [e for e, _ in events]
    assert kinds[0] == "start" and kinds[-1] == "done" and set(kinds[1:-1]) == {"delta"}
    done = events[-1][1]
    assert "".join(d["text"] for e, d in events if e == "delta") == done["answer"]
    assert not any(d["text"].startswith("[") for e, d in events if e == "delta")  # markers stay with their sentence
    assert done["citations"] and done["session_id"] == events[0][1]["session_id"]
    assert done["message_id"] == events[0][1]["message_id"]


def test_stream_errors_are_plain_json_not_events(client: TestClient) -> None:
    r = client.post("/api/chat", json={"message": "  ", "stream": True})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"message": ""}, "invalid_request"),
        ({"message": "   "}, "invalid_query"),
        ({"message": "工资" * 600}, "invalid_query"),
        ({"message": ["试用期"]}, "invalid_request"),
        ({"message": "试用期", "stream": "maybe"}, "invalid_request"),
        ({"message": "试用期", "session_id": "../../etc"}, "invalid_request"),
        ({"message": "试用期", "session_id": "x" * 65}, "invalid_request"),
        ({"question": "试用期"}, "invalid_request"),
    ],
)
def test_bad_chat_input_is_422(client: TestClient, payload: dict, code: str) -> None:
    r = client.post("/api/chat", json=payload)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == code
    assert "(" in r.json()["message"]  # Chinese, then English in brackets


def test_sessions_and_messages_survive_a_restart(make_client: ClientFactory, api_settings) -> None:
    first = make_client()
    a = first.post("/api/chat", json={"message": "公司拖欠工资怎么办？"}).json()
    sid = a["session_id"]
    stop(first)  # lifespan shutdown closes the databases

    second = make_client()
    b = second.post("/api/chat", json={"message": "那加班费呢？", "session_id": sid})
    assert b.status_code == 200 and b.json()["session_id"] == sid
    # Feedback on the answer given before the restart is still accepted.
    r = second.post("/api/feedback", json={"session_id": sid, "message_id": a["message_id"], "rating": "up"})
    assert r.status_code == 201
    with sqlite3.connect(api_settings.state_path) as db:
        turns = db.execute("SELECT COUNT(*) FROM turns WHERE session_id = ?", (sid,)).fetchone()[0]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    assert turns == 2 and mode == "wal"
    assert not any(t.startswith("api_") for t in tables)  # each exchange is stored once, in turns
