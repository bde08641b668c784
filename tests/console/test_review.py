"""Console review, hand-offs, kiosk keys and dashboard over the API (the store holds real turns)."""

from __future__ import annotations

import csv
import io
import time

from fastapi.testclient import TestClient

from bot.config import Settings
from bot.questions import read_sidecar, sidecar_path
from bot.store import Store
from bot.types import Answer, Citation

from .conftest import Signed, docs_dir


def add_turn(store: Store, question: str, channel: str = "chat", refused: bool = False, cite: object = None,
             station: str | None = None, session_id: str | None = None) -> tuple[str, str]:
    sid = store.session(session_id, channel=channel, station=station)
    citations = [Citation(1, cite, 0.5)] if cite is not None else []  # type: ignore[arg-type]
    answer = Answer(text="拒答" if refused else "回答", citations=citations, refused=refused,
                    reason="no_evidence" if refused else None, question=question)
    return sid, store.add_turn(sid, question, answer)


def test_review_lists_filters_handles_and_exports(admin: Signed) -> None:
    store = admin.client.app.state.store
    passage = admin.client.app.state.assistant.index.passages[0]
    s1, good = add_turn(store, "试用期多长", cite=passage)
    _, bad = add_turn(store, "老板不给加班费怎么办", cite=passage)
    _, refused = add_turn(store, "驿站几点开门", channel="kiosk", refused=True, station="甲站")
    store.add_feedback(good, "up")
    store.add_feedback(bad, "down", "没说清楚")

    def ids(**params: object) -> list[str]:
        return [t["message_id"] for t in admin.get("/console/api/turns", params=params).json()["items"]]

    assert ids() == [refused, bad, good]
    assert ids(queue="true") == [refused, bad]
    assert ids(channel="kiosk") == [refused]
    assert ids(rating="down") == [bad] and ids(rating="up") == [good] and ids(rating="none") == [refused]
    assert ids(outcome="answered") == [bad, good]
    today = time.strftime("%Y-%m-%d")
    assert ids(since=today, until=today) == [refused, bad, good] and ids(until="2000-01-01") == []
    assert ids(q="加班费") == [bad]
    assert admin.get("/console/api/turns", params={"since": "yesterday"}).status_code == 422
    row = admin.get("/console/api/turns", params={"rating": "down"}).json()["items"][0]
    assert row["comment"] == "没说清楚" and row["citations"][0]["passage_id"] == passage.id

    assert admin.post(f"/console/api/turns/{bad}/review", json={"status": "handled", "note": "已补充条文"}).status_code == 200
    assert ids(queue="true") == [refused]
    handled = admin.get("/console/api/turns", params={"rating": "down"}).json()["items"][0]["review"]
    assert handled["status"] == "handled" and handled["note"] == "已补充条文" and handled["account"] == "阿敏"
    assert admin.post("/console/api/turns/nope/review", json={}).status_code == 404

    r = admin.get("/console/api/turns.csv", params={"channel": "chat"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["created_at", "channel", "station"] and len(rows) == 3
    assert {rows[1][5], rows[2][5]} == {"试用期多长", "老板不给加班费怎么办"}
    actions = [a["action"] for a in admin.get("/console/api/audit").json()["items"]]
    assert "review" in actions and "review_export" in actions


def test_a_reviewed_question_becomes_a_lay_question_of_the_passage(admin: Signed, console_settings: Settings) -> None:
    store = admin.client.app.state.store
    index = admin.client.app.state.assistant.index
    article = next(p for p in index.passages if p.article == "第三条")
    case = next(p for p in index.passages if p.doc_type != "law")
    _, m = add_turn(store, "工资老拖着不发咋整", refused=True)
    picks = admin.get("/console/api/passages", params={"q": "拖欠工资"}).json()
    assert picks and all({"id", "label", "text"} <= set(p) for p in picks)
    r = admin.post(f"/console/api/turns/{m}/lay-question", json={"passage_id": article.id, "question": "工资老拖着\t不发咋整"})
    assert r.status_code == 201 and r.json()["locator"] == "第三条"
    r = admin.post(f"/console/api/turns/{m}/lay-question", json={"passage_id": case.id, "question": "驿站能歇脚吗"})
    assert r.status_code == 201
    rows, problems = read_sidecar(sidecar_path(docs_dir(console_settings) / article.source_file))
    assert [(x.locator, x.question) for x in rows] == [("第三条", "工资老拖着 不发咋整")] and not problems
    assert admin.post(f"/console/api/turns/{m}/lay-question", json={"passage_id": "x:1", "question": "q"}).status_code == 404
    # The next build attaches both questions to the chosen passages.
    from bot.index import build_index, load_index
    build_index(console_settings)
    rebuilt = load_index(console_settings.index_dir)
    attached = {(q.text, rebuilt.passages[q.row].id) for q in rebuilt.questions if q.source == "sidecar"}
    assert ("工资老拖着 不发咋整", article.id) in attached and ("驿站能歇脚吗", case.id) in attached
    audit = admin.get("/console/api/audit?action=lay_question_add").json()["items"]
    assert len(audit) == 2 and audit[0]["detail"]["message_id"] == m


def test_handoff_round_trip_and_its_place_in_export_delete_and_retention(admin: Signed, officer: Signed) -> None:
    client = admin.client
    store = client.app.state.store
    sid, m = add_turn(store, "公司拖欠工资三个月怎么办")
    r = client.post("/api/handoff", json={"session_id": sid, "message_id": m, "question": "公司拖欠工资三个月怎么办",
                                          "contact": "13800000000"})
    assert r.status_code == 201 and r.json()["status"] == "open"
    hid = r.json()["id"]
    assert client.post("/api/handoff", json={"session_id": "nobody", "question": "x"}).status_code == 409
    assert client.get("/api/handoff", params={"session_id": sid}).json()["items"][0]["replies"] == []

    assert [h["id"] for h in officer.get("/console/api/handoffs", params={"status": "open"}).json()] == [hid]
    assert officer.post(f"/console/api/handoffs/{hid}/claim").status_code == 200
    assert admin.post(f"/console/api/handoffs/{hid}/claim").status_code == 409  # one officer at a time
    assert admin.post(f"/console/api/handoffs/{hid}/reply", json={"text": "我来"}).status_code == 409
    detail = officer.get(f"/console/api/handoffs/{hid}").json()
    assert detail["contact"] == "13800000000" and detail["conversation"][0]["question"] == "公司拖欠工资三个月怎么办"
    assert officer.post(f"/console/api/handoffs/{hid}/reply", json={"text": "请带上工资条到区总工会法律援助窗口。"}).status_code == 200
    mine = client.get("/api/handoff", params={"session_id": sid}).json()["items"][0]
    assert mine["status"] == "answered" and mine["replies"][0]["author"] == "王干事"
    assert "法律援助窗口" in mine["replies"][0]["text"]
    actions = {(a["account"], a["action"]) for a in admin.get("/console/api/audit").json()["items"]}
    assert {("王干事", "handoff_claim"), ("王干事", "handoff_reply")} <= actions

    exported = client.get("/api/admin/person", params={"session_id": sid})  # admin token is off in these settings
    assert exported.status_code == 403
    person = store.person(session_id=sid).as_dict()
    assert person["sessions"][0]["handoffs"][0]["replies"][0]["text"].startswith("请带上工资条")
    store.forget(session_id=sid)
    assert store.console.handoff(hid) is None and client.get("/api/handoff", params={"session_id": sid}).json()["items"] == []

    sid2, _ = add_turn(store, "被辞退了有补偿吗")
    old = store.console.add_handoff(sid2, "被辞退了有补偿吗", "")
    store.console.reply_handoff(old, "王干事", "可以")
    assert store.purge(now=time.time() + 10_000 * 86400) >= 1
    assert store.console.handoff(old) is None


def test_chat_offers_a_handoff_after_a_refusal_or_on_high_stakes_topics(app_client: TestClient) -> None:
    out = app_client.post("/api/chat", json={"message": "明天天气怎么样"}).json()
    assert out["refused"] and out["offer_handoff"]
    from bot.handoff import offer_handoff
    assert offer_handoff("我被公司辞退了", False) and offer_handoff("工伤怎么认定", False)
    assert not offer_handoff("带薪年休假有几天", False)


def test_kiosk_keys_made_in_the_console_work_until_revoked(admin: Signed) -> None:
    client = admin.client
    r = admin.post("/console/api/kiosk-keys", json={"station": "  南京  新街口驿站 "})
    assert r.status_code == 201
    key, kid = r.json()["key"], r.json()["id"]
    assert r.json()["station"] == "南京 新街口驿站"
    listed = admin.get("/console/api/kiosk-keys").json()["keys"]
    assert listed[0]["hint"] == key[:7] and "key" not in listed[0]
    stored = client.app.state.store.console.kiosk_keys()
    assert key not in str(stored)
    ask = client.post("/api/kiosk/ask", json={"message": "怎样加入工会"}, headers={"X-API-Key": key})
    assert ask.status_code == 200
    assert admin.post(f"/console/api/kiosk-keys/{kid}/revoke").status_code == 200
    assert client.post("/api/kiosk/ask", json={"message": "怎样加入工会"}, headers={"X-API-Key": key}).status_code == 401
    actions = [a["action"] for a in admin.get("/console/api/audit").json()["items"]]
    assert "kiosk_key_create" in actions and "kiosk_key_revoke" in actions


def test_dashboard_counts_by_day_channel_rating_and_station(admin: Signed) -> None:
    store = admin.client.app.state.store
    passage = admin.client.app.state.assistant.index.passages[0]
    _, a = add_turn(store, "一", cite=passage)
    add_turn(store, "二", channel="kiosk", refused=True, station="甲站")
    add_turn(store, "三", channel="wechat", cite=passage)
    store.add_feedback(a, "down")
    store.count_kiosk("甲站")
    sid, _ = add_turn(store, "四")
    store.console.add_handoff(sid, "四", "")
    d = admin.get("/console/api/dashboard", params={"days": 7}).json()
    today = time.strftime("%Y-%m-%d")
    assert len(d["days"]) == 7 and d["days"][-1] == today
    assert d["questions"] == 4 and d["refused"] == 1
    assert d["per_day"][today] == {"chat": 2, "kiosk": 1, "wechat": 1}
    assert d["ratings"] == {"up": 0, "down": 1} and d["handoffs"]["open"] == 1
    assert d["kiosk"] == [{"station": "甲站", "requests": 1, "rate_limited": 0}]
    assert d["cited"][0]["doc_id"] == passage.doc_id and d["cited"][0]["count"] == 2
    assert d["cited"][0]["label"] == (f"《{passage.title}》" if passage.doc_type == "law" else passage.title)
