"""Sessions in SQLite: turns kept in order, message ids, expiry."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.errors import InvalidQuery
from bot.sessions import SessionStore
from bot.types import Answer, Citation, Passage

P = Passage(id="law:19", doc_id="law", text="试用期不得超过六个月。", doc_type="law", title="劳动合同法",
            source_file="劳动合同法.md", position=3, article="第十九条")


@pytest.fixture
def store(tmp_path: Path):
    s = SessionStore(tmp_path / "state.sqlite3", ttl_hours=1.0)
    yield s
    s.close()


def test_turns_are_kept_in_order_with_message_ids(store: SessionStore):
    sid = store.session(None, now=1000.0)
    a1 = Answer(text="试用期不得超过六个月。[1]", citations=[Citation(1, P, 0.5)], question="试用期最长多久")
    m1 = store.add_turn(sid, "试用期最长多久", a1, now=1001.0)
    m2 = store.add_turn(sid, "那工资呢", Answer(text="抱歉", refused=True, question="那工资呢 试用期"), now=1002.0)
    assert m1 != m2
    hist = store.history(sid, limit=5)
    assert [t.question for t in hist] == ["试用期最长多久", "那工资呢"]
    assert hist[1].resolved_question == "那工资呢 试用期" and hist[1].refused
    assert hist[0].citations == [{"n": 1, "passage_id": "law:19", "label": "《劳动合同法》第十九条"}]
    assert store.turn(m1).answer == "试用期不得超过六个月。[1]"
    assert [t.question for t in store.history(sid, limit=1)] == ["那工资呢"]


def test_given_session_id_is_kept_and_bad_ids_rejected(store: SessionStore):
    assert store.session("abc-123") == "abc-123"
    with pytest.raises(InvalidQuery):
        store.session("../etc/passwd")


def test_expired_sessions_are_deleted_with_their_turns(store: SessionStore):
    sid = store.session("old", now=0.0)
    store.add_turn(sid, "问题", Answer(text="回答[1]"), now=10.0)
    assert store.expire(now=10.0 + 3601) == 1
    assert store.history(sid) == []
    # using an expired id starts over with an empty history
    sid2 = store.session("stale", now=0.0)
    store.add_turn(sid2, "问题", Answer(text="回答[1]"), now=1.0)
    assert store.session("stale", now=1.0 + 7200) == "stale"
    assert store.history("stale") == []


def test_database_uses_wal_and_expected_tables(store: SessionStore):
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "turns"} <= tables
    cols = {r[1] for r in db.execute("PRAGMA table_info(turns)")}
    assert {"question", "resolved_question", "answer", "citations", "created_at", "message_id"} <= cols
