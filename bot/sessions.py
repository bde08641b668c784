"""Conversation sessions in SQLite (WAL): sessions and their turns, with expiry of old sessions."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bot.db import connect
from bot.errors import InvalidQuery
from bot.types import Answer

logger = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PURGE_EVERY_SECONDS = 600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    message_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    resolved_question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,  -- JSON list of {n, passage_id, label}
    refused INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, created_at);
"""


@dataclass(frozen=True)
class Turn:
    """One question and answer of a session."""

    message_id: str
    question: str
    resolved_question: str
    answer: str
    citations: list[dict[str, object]]
    refused: bool
    created_at: float


class SessionStore:
    """Sessions and turns in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path, ttl_hours: float = 24.0) -> None:
        self.path = Path(path)
        self.ttl_seconds = ttl_hours * 3600
        self._lock = threading.Lock()
        self._db = connect(self.path, _SCHEMA)
        self._last_purge = 0.0
        self.expire()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def session(self, session_id: str | None = None, now: float | None = None) -> str:
        """An active session id: the given one (created if new, restarted if expired) or a fresh one."""
        now = time.time() if now is None else now
        if session_id is not None and not _SESSION_ID.match(session_id):
            raise InvalidQuery("会话编号格式不正确。(session_id must be 1-64 letters, digits, '-' or '_'.)")
        sid = session_id or uuid.uuid4().hex
        with self._lock, self._db:
            row = self._db.execute("SELECT updated_at FROM sessions WHERE id = ?", (sid,)).fetchone()
            if row and now - row[0] > self.ttl_seconds:
                self._db.execute("DELETE FROM sessions WHERE id = ?", (sid,))
                row = None
            if row is None:
                self._db.execute("INSERT INTO sessions VALUES (?, ?, ?)", (sid, now, now))
        return sid

    def history(self, session_id: str, limit: int = 3) -> list[Turn]:
        """The last `limit` turns of a session, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT message_id, question, resolved_question, answer, citations, refused, created_at "
                "FROM turns WHERE session_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (session_id, limit),
            ).fetchall()
        return [Turn(r[0], r[1], r[2], r[3], json.loads(r[4]), bool(r[5]), r[6]) for r in reversed(rows)]

    def add_turn(self, session_id: str, question: str, answer: Answer, now: float | None = None) -> str:
        """Store one answered (or refused) question; returns its new message_id."""
        now = time.time() if now is None else now
        message_id = uuid.uuid4().hex
        cites = [{"n": c.n, "passage_id": c.passage.id, "label": c.passage.label} for c in answer.citations]
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, session_id, question, answer.question or question, answer.text,
                 json.dumps(cites, ensure_ascii=False), int(answer.refused), now),
            )
            self._db.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", (now, session_id))
        if now - self._last_purge > PURGE_EVERY_SECONDS:
            self.expire(now)
        return message_id

    def turn(self, message_id: str) -> Turn | None:
        """One stored turn by its message_id (for feedback), or None."""
        with self._lock:
            r = self._db.execute(
                "SELECT message_id, question, resolved_question, answer, citations, refused, created_at "
                "FROM turns WHERE message_id = ?",
                (message_id,),
            ).fetchone()
        return Turn(r[0], r[1], r[2], r[3], json.loads(r[4]), bool(r[5]), r[6]) if r else None

    def expire(self, now: float | None = None) -> int:
        """Delete sessions idle for longer than the TTL (and their turns); returns how many."""
        now = time.time() if now is None else now
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM sessions WHERE updated_at < ?", (now - self.ttl_seconds,))
        self._last_purge = now
        if cur.rowcount:
            logger.info("expired %d idle sessions", cur.rowcount)
        return cur.rowcount
