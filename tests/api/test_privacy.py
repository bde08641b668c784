"""GET/DELETE /api/admin/person: export and delete one person's data, by session id or WeChat openid."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import ADMIN_TOKEN
from .test_wechat import OPENID, post, reply_content, text_xml

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_a_workers_conversation_is_exported_then_deleted(client: TestClient) -> None:
    a = client.post("/api/chat", json={"message": "公司拖欠工资怎么办？"}).json()
    b = client.post("/api/chat", json={"message": "那加班费呢？", "session_id": a["session_id"]}).json()
    client.post("/api/feedback", json={"session_id": a["session_id"], "message_id": b["message_id"], "rating": "down"})
    other = client.post("/api/chat", json={"message": "试用期最长多久？"}).json()

    assert client.get("/api/admin/person", params={"session_id": a["session_id"]}).status_code == 401
    r = client.get("/api/admin/person", params={"session_id": a["session_id"]}, headers=ADMIN)
    assert r.status_code == 200
    [session] = r.json()["sessions"]
    assert [t["question"] for t in session["turns"]] == ["公司拖欠工资怎么办？", "那加班费呢？"]
    assert session["turns"][0]["answer"] == a["answer"] and session["channel"] == "chat"
    assert [f["rating"] for f in session["feedback"]] == ["down"]

    r = client.delete("/api/admin/person", params={"session_id": a["session_id"]}, headers=ADMIN)
    assert r.status_code == 200 and r.json() == {"sessions": 1, "wechat_messages": 0}
    assert client.get("/api/admin/person", params={"session_id": a["session_id"]}, headers=ADMIN).status_code == 404
    assert client.get("/api/admin/feedback", headers=ADMIN).json()["total"] == 0
    # Nobody else's conversation is touched.
    assert client.get("/api/admin/person", params={"session_id": other["session_id"]}, headers=ADMIN).status_code == 200


def test_a_wechat_users_data_is_found_by_openid(client: TestClient) -> None:
    assert "依据：" in reply_content(post(client, text_xml("加班费怎么算？", 6001)))
    r = client.get("/api/admin/person", params={"openid": OPENID}, headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert [s["channel"] for s in body["sessions"]] == ["wechat"]
    assert body["sessions"][0]["turns"][0]["question"] == "加班费怎么算？"
    assert [m["msg_id"] for m in body["wechat_messages"]] == ["6001"]
    r = client.delete("/api/admin/person", params={"openid": OPENID}, headers=ADMIN)
    assert r.json() == {"sessions": 1, "wechat_messages": 1}
    assert client.get("/api/admin/person", params={"openid": OPENID}, headers=ADMIN).status_code == 404


def test_a_person_must_be_named(client: TestClient) -> None:
    r = client.get("/api/admin/person", headers=ADMIN)
    assert r.status_code == 422 and "session" in r.json()["message"]
    assert client.delete("/api/admin/person", params={"session_id": "never-seen"}, headers=ADMIN).status_code == 404
