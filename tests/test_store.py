"""The conversation store on SQLite and on a real PostgreSQL server: turns, feedback, WeChat state,
retention, export and deletion of one person's data, migrations (from empty and from version 0.1's file)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.errors import InvalidQuery
from bot.store import Store
from bot.store.models import Base
from bot.types import Answer, Citation, Passage
from tests.postgres import PostgresServer

P = Passage(id="law:19", doc_id="law", text="试用期不得超过六个月。", doc_type="law", title="劳动合同法",
            source_file="劳动合同法.md", position=3, article="第十九条")
DAY = 86400.0


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.database()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    s = Store(url, ttl_hours=1.0, retention_days=30, key=b"test key")
    yield s
    s.close()


def test_turns_are_kept_in_order_with_message_ids(store: Store) -> None:
    sid = store.session(None, now=1000.0)
    a1 = Answer(text="试用期不得超过六个月。[1]", citations=[Citation(1, P, 0.5)], question="试用期最长多久")
    m1 = store.add_turn(sid, "试用期最长多久", a1, now=1001.0)
    m2 = store.add_turn(sid, "那工资呢", Answer(text="抱歉", refused=True, reason="no_evidence",
                                              question="那工资呢 试用期"), now=1002.0)
    assert m1 != m2
    hist = store.history(sid, limit=5)
    assert [t.question for t in hist] == ["试用期最长多久", "那工资呢"]
    assert hist[1].resolved_question == "那工资呢 试用期" and hist[1].refused and hist[1].reason == "no_evidence"
    assert hist[0].citations == [{"n": 1, "passage_id": "law:19", "label": "《劳动合同法》第十九条"}]
    assert store.turn(m1).answer == "试用期不得超过六个月。[1]" and store.turn(m1).session_id == sid
    assert [t.question for t in store.history(sid, limit=1)] == ["那工资呢"]
    assert store.turn("nope") is None


def test_session_ids_are_kept_and_bad_ids_rejected(store: Store) -> None:
    assert store.session("abc-123") == "abc-123"
    assert store.session("abc-123") == "abc-123"  # a second call neither fails nor duplicates
    with pytest.raises(InvalidQuery):
        store.session("../etc/passwd")


def test_an_idle_session_starts_over_but_its_turns_are_kept_for_review(store: Store) -> None:
    sid = store.session("stale", now=0.0)
    m = store.add_turn(sid, "问题", Answer(text="回答[1]"), now=1.0)
    assert store.session("stale", now=1.0 + 7200) == "stale"
    assert store.history("stale") == []  # the conversation starts over ...
    assert store.turn(m) is not None  # ... and what was said is still there for officers
    store.add_turn(sid, "新问题", Answer(text="新回答"), now=7202.0)
    assert [t.question for t in store.history("stale")] == ["新问题"]


def test_feedback_is_listed_with_its_turn_and_channel(store: Store) -> None:
    sid = store.session(None, channel="kiosk", station="淮安驿站")
    m = store.add_turn(sid, "加班费怎么算", Answer(text="按规定支付[1]"))
    store.add_feedback(m, "down", "没说清楚")
    store.add_feedback(m, "up")
    rows = store.feedback()
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[1]["comment"] == "没说清楚" and rows[1]["question"] == "加班费怎么算" and rows[1]["channel"] == "kiosk"
    assert store.feedback_count() == 2 and store.feedback_count("down") == 1
    assert [r["rating"] for r in store.feedback(rating="down")] == ["down"]


def test_kiosk_usage_and_sessions(store: Store) -> None:
    store.count_kiosk("一号站")
    store.count_kiosk("一号站")
    store.count_kiosk("一号站", rate_limited=True)
    assert [(u["station"], u["requests"], u["rate_limited"]) for u in store.kiosk_usage()] == [("一号站", 2, 1)]
    sid = store.session(None, channel="kiosk", station="一号站")
    store.set_kiosk_session("一号站", sid)
    assert store.kiosk_session("一号站", idle_seconds=60) == sid
    assert store.kiosk_session("一号站", idle_seconds=-1) is None
    store.set_kiosk_session("一号站", None)
    assert store.kiosk_session("一号站", idle_seconds=60) is None


def test_wechat_messages_are_claimed_once_and_openids_stored_as_keyed_hashes(store: Store, url: str) -> None:
    assert store.claim_wechat_message("m1", "oABC", "试用期多久")
    assert not store.claim_wechat_message("m1", "oABC", "试用期多久")
    assert store.latest_wechat_message("oABC").msg_id == "m1"
    store.finish_wechat_message("m1", "done", "六个月")
    assert store.deliver_wechat_message("m1") and not store.deliver_wechat_message("m1")
    assert store.latest_wechat_message("oABC") is None
    sid = store.session(None, channel="wechat")
    store.set_wechat_session("oABC", sid)
    assert store.wechat_session("oABC") == sid and store.wechat_session("other") is None
    key = store.user_key("oABC")
    assert len(key) == 64 and key != Store(url, key=b"another key", migrate_schema=False).user_key("oABC")
    with store.engine.connect() as c:
        stored = c.exec_driver_sql("SELECT user_key FROM wechat_users UNION SELECT user_key FROM wechat_messages").all()
    assert [r[0] for r in stored] == [key]


def test_retention_deletes_old_conversations_with_everything_on_them(store: Store) -> None:
    old = store.session("old", now=0.0)
    m = store.add_turn(old, "旧问题", Answer(text="旧回答"), now=1.0)
    store.add_feedback(m, "down", now=2.0)
    store.set_kiosk_session("站", old)
    recent = store.session("recent", now=29 * DAY)
    store.add_turn(recent, "新问题", Answer(text="新回答"), now=29 * DAY)
    assert store.purge(now=31 * DAY) == 1
    assert store.turn(m) is None and store.feedback_count() == 0 and store.kiosk_session("站", 1e12) is None
    assert [t.question for t in store.history("recent")] == ["新问题"]


def test_one_persons_data_is_exported_and_deleted(store: Store) -> None:
    web = store.session("web-1")
    m = store.add_turn(web, "被辞退了怎么办", Answer(text="可以申请仲裁[1]", citations=[Citation(1, P, 0.5)]))
    store.add_feedback(m, "up", "有用")
    wechat = store.session(None, channel="wechat")
    store.add_turn(wechat, "工伤怎么认定", Answer(text="向社会保险行政部门申请"))
    store.set_wechat_session("oWorker", wechat)
    store.claim_wechat_message("w1", "oWorker", "工伤怎么认定")
    other = store.session("someone-else")
    store.add_turn(other, "别人的问题", Answer(text="别人的回答"))

    mine = store.person(session_id="web-1").as_dict()
    assert [s["session_id"] for s in mine["sessions"]] == ["web-1"]
    assert mine["sessions"][0]["turns"][0]["question"] == "被辞退了怎么办"
    assert mine["sessions"][0]["feedback"][0]["comment"] == "有用"
    by_openid = store.person(openid="oWorker").as_dict()
    assert [s["session_id"] for s in by_openid["sessions"]] == [wechat]
    assert [w["msg_id"] for w in by_openid["wechat_messages"]] == ["w1"]
    with pytest.raises(InvalidQuery):
        store.person()

    assert store.forget(openid="oWorker") == {"sessions": 1, "wechat_messages": 1}
    assert store.forget(session_id="web-1") == {"sessions": 1, "wechat_messages": 0}
    assert store.person(openid="oWorker").as_dict() == {"sessions": [], "wechat_messages": []}
    assert store.turn(m) is None and store.feedback_count() == 0 and store.wechat_session("oWorker") is None
    assert [t.question for t in store.history("someone-else")] == ["别人的问题"]


def test_migrations_create_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert diff == []


def test_concurrent_writers_lose_nothing(store: Store) -> None:
    sid = store.session("busy")
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                m = store.add_turn(sid, f"问题{n}-{i}", Answer(text="回答"))
                store.add_feedback(m, "up")
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and store.feedback_count() == 60
    assert len(store.person(session_id="busy").sessions[0]["turns"]) == 60


# Version 0.1 kept each exchange twice: `sessions`/`turns` (bot/sessions.py) and `api_messages` (bot/api/storage.py).
LEGACY_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE turns (message_id TEXT PRIMARY KEY, session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    question TEXT NOT NULL, resolved_question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL,
    refused INTEGER NOT NULL, created_at REAL NOT NULL);
CREATE INDEX turns_by_session ON turns(session_id, created_at);
CREATE TABLE api_messages (message_id TEXT PRIMARY KEY, session_id TEXT, channel TEXT NOT NULL, question TEXT NOT NULL,
    answer TEXT NOT NULL, refused INTEGER NOT NULL, citations TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX api_messages_session ON api_messages(session_id);
CREATE TABLE api_feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, message_id TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')), comment TEXT NOT NULL DEFAULT '', created REAL NOT NULL);
CREATE TABLE api_kiosk_usage (station TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    rate_limited INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (station, day));
CREATE TABLE api_kiosk_sessions (station TEXT PRIMARY KEY, session_id TEXT NOT NULL, last_seen REAL NOT NULL);
CREATE TABLE api_wechat_users (openid TEXT PRIMARY KEY, session_id TEXT NOT NULL, last_seen REAL NOT NULL);
CREATE TABLE api_wechat_messages (msg_id TEXT PRIMARY KEY, openid TEXT NOT NULL, question TEXT NOT NULL,
    status TEXT NOT NULL, reply TEXT, delivered INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL);
CREATE INDEX api_wechat_messages_user ON api_wechat_messages(openid, created);
"""


def test_a_version_0_1_state_file_is_migrated_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.executemany("INSERT INTO sessions VALUES (?, ?, ?)", [("s-chat", 100.0, 200.0), ("s-cli", 50.0, 60.0)])
        cites = '[{"n": 1, "passage_id": "law:19", "label": "《劳动合同法》第十九条"}]'
        db.executemany("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            ("m1", "s-chat", "试用期多久", "试用期多久", "不得超过六个月[1]", cites, 0, 100.0),
            ("m2", "s-chat", "那工资呢", "那工资呢 试用期", "抱歉", "[]", 1, 200.0),
            ("m3", "s-cli", "工伤", "工伤", "回答", "[]", 0, 55.0),
        ])
        db.executemany("INSERT INTO api_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            ("m1", "s-chat", "chat", "试用期多久", "不得超过六个月[1]", 0, '["law:19"]', 100.0),
            ("m2", "s-chat", "chat", "那工资呢", "抱歉", 1, "[]", 200.0),
            # a kiosk exchange whose session had expired from `sessions`/`turns`: only the API's copy is left
            ("k1", "s-kiosk", "kiosk:一号站", "加班费", "按规定支付[1]", 0, '["law:44"]', 300.0),
            ("w1", "s-wechat", "wechat", "工伤认定", "申请[1]", 0, '["law:17"]', 400.0),
        ])
        db.execute("INSERT INTO api_feedback (session_id, message_id, rating, comment, created)"
                   " VALUES ('s-chat', 'm1', 'down', '不对', 150.0)")
        db.execute("INSERT INTO api_kiosk_usage VALUES ('一号站', '2026-11-01', 7, 1)")
        db.execute("INSERT INTO api_kiosk_sessions VALUES ('一号站', 's-kiosk', 300.0)")
        db.execute("INSERT INTO api_wechat_users VALUES ('oWorker', 's-wechat', 400.0)")
        db.execute("INSERT INTO api_wechat_messages VALUES ('9001', 'oWorker', '工伤认定', 'done', '申请', 1, 400.0)")

    store = Store(f"sqlite:///{path}", key=b"k")
    try:
        assert [t.message_id for t in store.history("s-chat", 10)] == ["m1", "m2"]
        assert store.turn("m1").citations[0]["label"] == "《劳动合同法》第十九条"
        assert store.turn("m2").resolved_question == "那工资呢 试用期"
        assert store.turn("k1").citations == [{"n": 1, "passage_id": "law:44", "label": ""}]
        assert store.turn("m3").question == "工伤"
        fb = store.feedback()
        assert [(f["message_id"], f["rating"], f["comment"], f["channel"]) for f in fb] == [("m1", "down", "不对", "chat")]
        assert store.kiosk_usage() == [{"station": "一号站", "day": "2026-11-01", "requests": 7, "rate_limited": 1}]
        assert store.wechat_session("oWorker") == "s-wechat"
        assert store.wechat_message("9001").reply == "申请"
        kiosk = store.person(session_id="s-kiosk").sessions[0]
        assert (kiosk["channel"], kiosk["station"]) == ("kiosk", "一号站")
        assert store.person(session_id="s-cli").sessions[0]["channel"] == "cli"
    finally:
        store.close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        everything = "\n".join(str(r) for t in tables for r in db.execute(f"SELECT * FROM {t}"))
    assert not any(t.startswith(("api_", "legacy_")) for t in tables)
    assert "oWorker" not in everything  # the openid was replaced by its keyed hash


def test_the_pseudonym_key_comes_from_the_secrets_not_their_masks() -> None:
    from pydantic import SecretStr

    from bot.config import Settings
    from bot.store.conversations import pseudonym_key

    one = Settings(_env_file=None, wechat_token=SecretStr("token-one"))  # type: ignore[call-arg]
    two = Settings(_env_file=None, wechat_token=SecretStr("token-two"))  # type: ignore[call-arg]
    assert pseudonym_key(one) != pseudonym_key(two)
    chosen = Settings(_env_file=None, pseudonym_key=SecretStr("k"), wechat_token=SecretStr("token-one"))  # type: ignore[call-arg]
    assert pseudonym_key(chosen) == b"k"
