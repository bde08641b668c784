"""SQLite (WAL) state of the HTTP service: messages, feedback, kiosk usage and sessions, WeChat replies.

Lives in the same file as the answers engineer's `sessions`/`turns` tables (settings.state_path);
every table here is prefixed `api_` so the two never collide.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.db import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_messages (
    message_id TEXT PRIMARY KEY,
    session_id TEXT,
    channel    TEXT NOT NULL,          -- chat | kiosk | wechat
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    refused    INTEGER NOT NULL,
    citations  TEXT NOT NULL,          -- JSON list of passage ids
    created    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_messages_session ON api_messages(session_id);
CREATE TABLE IF NOT EXISTS api_feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT NOT NULL DEFAULT '',
    created    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_kiosk_usage (
    station      TEXT NOT NULL,
    day          TEXT NOT NULL,        -- YYYY-MM-DD, local time
    requests     INTEGER NOT NULL DEFAULT 0,
    rate_limited INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (station, day)
);
CREATE TABLE IF NOT EXISTS api_kiosk_sessions (
    station    TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    last_seen  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_wechat_users (
    openid     TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    last_seen  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS api_wechat_messages (
    msg_id    TEXT PRIMARY KEY,
    openid    TEXT NOT NULL,
    question  TEXT NOT NULL,
    status    TEXT NOT NULL,           -- pending | done | failed
    reply     TEXT,
    delivered INTEGER NOT NULL DEFAULT 0,
    created   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS api_wechat_messages_user ON api_wechat_messages(openid, created);
"""


@dataclass(frozen=True)
class WechatMessage:
    """One text message received from a WeChat user, and the state of its answer."""

    msg_id: str
    openid: str
    question: str
    status: str
    reply: str | None
    delivered: bool
    created: float


class Storage:
    """Thread-safe access to the service's tables (one connection, one lock; writes are tiny)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect(path, _SCHEMA, isolation_level=None)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ----------------------------------------------------------------- messages

    def add_message(
        self,
        message_id: str,
        session_id: str | None,
        channel: str,
        question: str,
        answer: str,
        refused: bool,
        citations: list[str],
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO api_messages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, session_id, channel, question, answer, int(refused), json.dumps(citations), time.time()),
        )

    def message(self, message_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM api_messages WHERE message_id = ?", (message_id,))
        return dict(rows[0]) if rows else None

    # ----------------------------------------------------------------- feedback

    def add_feedback(self, session_id: str, message_id: str, rating: str, comment: str) -> int:
        cur = self._run(
            "INSERT INTO api_feedback (session_id, message_id, rating, comment, created) VALUES (?, ?, ?, ?, ?)",
            (session_id, message_id, rating, comment, time.time()),
        )
        return int(cur.lastrowid or 0)

    def feedback(self, limit: int = 100, offset: int = 0, rating: str | None = None) -> list[dict[str, Any]]:
        """Newest first, with the question and answer the rating is about."""
        where, params = ("WHERE f.rating = ?", (rating,)) if rating else ("", ())
        rows = self._rows(
            "SELECT f.id, f.session_id, f.message_id, f.rating, f.comment, f.created,"
            " m.question, m.answer, m.channel FROM api_feedback f"
            f" LEFT JOIN api_messages m ON m.message_id = f.message_id {where}"
            " ORDER BY f.id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [dict(r) for r in rows]

    def feedback_count(self, rating: str | None = None) -> int:
        if rating:
            return int(self._rows("SELECT COUNT(*) FROM api_feedback WHERE rating = ?", (rating,))[0][0])
        return int(self._rows("SELECT COUNT(*) FROM api_feedback")[0][0])

    # -------------------------------------------------------------------- kiosk

    def count_kiosk(self, station: str, rate_limited: bool = False) -> None:
        day = time.strftime("%Y-%m-%d")
        col = "rate_limited" if rate_limited else "requests"
        self._run(
            f"INSERT INTO api_kiosk_usage (station, day, {col}) VALUES (?, ?, 1)"
            f" ON CONFLICT(station, day) DO UPDATE SET {col} = {col} + 1",
            (station, day),
        )

    def kiosk_usage(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM api_kiosk_usage ORDER BY day DESC, station")
        return [dict(r) for r in rows]

    def kiosk_session(self, station: str, idle_seconds: float) -> str | None:
        """The station's current conversation, unless it has been idle longer than idle_seconds."""
        rows = self._rows("SELECT session_id, last_seen FROM api_kiosk_sessions WHERE station = ?", (station,))
        if rows and time.time() - rows[0]["last_seen"] <= idle_seconds:
            return str(rows[0]["session_id"])
        return None

    def set_kiosk_session(self, station: str, session_id: str | None) -> None:
        if session_id is None:
            self._run("DELETE FROM api_kiosk_sessions WHERE station = ?", (station,))
        else:
            self._run("INSERT OR REPLACE INTO api_kiosk_sessions VALUES (?, ?, ?)", (station, session_id, time.time()))

    # ------------------------------------------------------------------- wechat

    def wechat_session(self, openid: str) -> str | None:
        rows = self._rows("SELECT session_id FROM api_wechat_users WHERE openid = ?", (openid,))
        return str(rows[0]["session_id"]) if rows else None

    def set_wechat_session(self, openid: str, session_id: str) -> None:
        self._run("INSERT OR REPLACE INTO api_wechat_users VALUES (?, ?, ?)", (openid, session_id, time.time()))

    def claim_wechat_message(self, msg_id: str, openid: str, question: str) -> bool:
        """Record a new MsgId as pending; False when this MsgId was seen before (a redelivery)."""
        cur = self._run(
            "INSERT OR IGNORE INTO api_wechat_messages (msg_id, openid, question, status, created)"
            " VALUES (?, ?, ?, 'pending', ?)",
            (msg_id, openid, question, time.time()),
        )
        return cur.rowcount == 1

    def wechat_message(self, msg_id: str) -> WechatMessage | None:
        rows = self._rows("SELECT * FROM api_wechat_messages WHERE msg_id = ?", (msg_id,))
        return _wechat(rows[0]) if rows else None

    def latest_wechat_message(self, openid: str) -> WechatMessage | None:
        """The user's most recent question that has not been delivered yet."""
        rows = self._rows(
            "SELECT * FROM api_wechat_messages WHERE openid = ? AND delivered = 0 ORDER BY created DESC LIMIT 1",
            (openid,),
        )
        return _wechat(rows[0]) if rows else None

    def finish_wechat_message(self, msg_id: str, status: str, reply: str) -> None:
        self._run("UPDATE api_wechat_messages SET status = ?, reply = ? WHERE msg_id = ?", (status, reply, msg_id))

    def deliver_wechat_message(self, msg_id: str) -> bool:
        """Mark the reply as sent; False if it had already been sent (so it is sent once)."""
        cur = self._run("UPDATE api_wechat_messages SET delivered = 1 WHERE msg_id = ? AND delivered = 0", (msg_id,))
        return cur.rowcount == 1


def _wechat(r: sqlite3.Row) -> WechatMessage:
    return WechatMessage(
        msg_id=r["msg_id"],
        openid=r["openid"],
        question=r["question"],
        status=r["status"],
        reply=r["reply"],
        delivered=bool(r["delivered"]),
        created=r["created"],
    )
