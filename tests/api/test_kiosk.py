"""POST /api/kiosk/ask: station keys, rate limit with Retry-After, usage counts, idle sessions."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from .conftest import ADMIN_TOKEN, KIOSK_KEYS, ClientFactory

A, B = "key-station-a", "key-station-b"


def _ask(client: TestClient, key: str | None, message: str = "工伤认定要多久？", **extra) -> object:
    headers = {"X-API-Key": key} if key else {}
    return client.post("/api/kiosk/ask", json={"message": message, **extra}, headers=headers)


def test_kiosk_needs_a_known_key(client: TestClient) -> None:
    r = _ask(client, None)
    assert r.status_code == 401 and "X-API-Key" in r.json()["message"]
    r = _ask(client, "not-a-key")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


def test_kiosk_gives_a_short_answer(client: TestClient, api_settings) -> None:
    r = _ask(client, A, "试用期最长多久？")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] and body["idle_seconds"] == 60
    assert body["citations"] and set(body["citations"][0]) == {"n", "id", "label"}
    long = client.post("/api/chat", json={"message": "试用期最长多久？"}).json()["answer"]
    assert len(body["answer"]) <= len(long)


def test_rate_limit_per_key_with_retry_after_and_usage(client: TestClient) -> None:
    for _ in range(3):
        assert _ask(client, A).status_code == 200
    r = _ask(client, A)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert 1 <= int(r.headers["retry-after"]) <= 60
    assert _ask(client, B).status_code == 200  # other stations are not affected
    usage = client.get("/api/admin/kiosk-usage", headers={"X-Admin-Token": ADMIN_TOKEN}).json()
    by_station = {u["station"]: u for u in usage}
    assert by_station[KIOSK_KEYS[A]]["requests"] == 3 and by_station[KIOSK_KEYS[A]]["rate_limited"] == 1
    assert by_station[KIOSK_KEYS[B]]["requests"] == 1 and by_station[KIOSK_KEYS[B]]["rate_limited"] == 0


def _session_of(client: TestClient, message_id: str) -> str:
    return client.app.state.store.turn(message_id).session_id


def test_session_is_kept_only_while_the_station_is_active(make_client: ClientFactory) -> None:
    c = make_client(kiosk_rate_per_minute=100)
    m1, m2 = (_ask(c, A).json()["message_id"] for _ in range(2))
    assert _session_of(c, m1) == _session_of(c, m2)
    m3 = _ask(c, A, new_session=True).json()["message_id"]
    assert _session_of(c, m3) != _session_of(c, m2)
    m4 = _ask(c, B).json()["message_id"]
    assert _session_of(c, m4) != _session_of(c, m3)  # stations never share a conversation

    idle = make_client(kiosk_rate_per_minute=100, kiosk_idle_seconds=0)
    n1, n2 = (_ask(idle, A).json()["message_id"] for _ in range(2))
    assert _session_of(idle, n1) != _session_of(idle, n2)


def test_keys_file_is_reread_when_it_changes(client: TestClient, keys_file) -> None:
    import os
    import time

    assert _ask(client, "new-key").status_code == 401
    keys_file.write_text(json.dumps({**KIOSK_KEYS, "new-key": "新驿站"}, ensure_ascii=False), encoding="utf-8")
    later = time.time() + 5
    os.utime(keys_file, (later, later))
    assert _ask(client, "new-key").status_code == 200
