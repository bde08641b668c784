"""POST /api/feedback and the admin listings."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import ADMIN_TOKEN, ClientFactory

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _answer(client: TestClient) -> dict:
    r = client.post("/api/chat", json={"message": "没签劳动合同可以要二倍工资吗？"})
    assert r.status_code == 200
    return r.json()


def test_feedback_is_stored_and_listed_for_admins(client: TestClient) -> None:
    a = _answer(client)
    r = client.post("/api/feedback", json={"session_id": a["session_id"], "message_id": a["message_id"], "rating": "down", "comment": " 没说仲裁时效 "})
    assert r.status_code == 201 and r.json()["status"] == "saved"
    listing = client.get("/api/admin/feedback", headers=ADMIN)
    assert listing.status_code == 200
    body = listing.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["rating"] == "down" and item["comment"] == "没说仲裁时效"
    assert item["question"] == "没签劳动合同可以要二倍工资吗？" and item["answer"] == a["answer"] and item["channel"] == "chat"
    assert client.get("/api/admin/feedback", headers={"X-Admin-Token": ADMIN_TOKEN}, params={"rating": "up"}).json()["total"] == 0


def test_admin_listing_needs_the_token(client: TestClient, make_client: ClientFactory) -> None:
    r = client.get("/api/admin/feedback")
    assert r.status_code == 401 and r.json()["error"] == "unauthorized" and r.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/admin/feedback", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/admin/kiosk-usage").status_code == 401
    off = make_client(admin_token=None)
    r = off.get("/api/admin/feedback", headers=ADMIN)
    assert r.status_code == 403 and "UNIONBOT_ADMIN_TOKEN" in r.json()["message"]


def test_bad_feedback_is_rejected(client: TestClient) -> None:
    a = _answer(client)
    base = {"session_id": a["session_id"], "message_id": a["message_id"]}
    assert client.post("/api/feedback", json={**base, "rating": "meh"}).status_code == 422
    assert client.post("/api/feedback", json={**base, "rating": "up", "comment": "长" * 1001}).status_code == 422
    r = client.post("/api/feedback", json={**base, "message_id": "unknown", "rating": "up"})
    assert r.status_code == 404 and "找不到" in r.json()["message"]
    r = client.post("/api/feedback", json={**base, "session_id": "other-session", "rating": "up"})
    assert r.status_code == 404
