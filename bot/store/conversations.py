"""Store: the one place conversations are kept, whichever channel they came through."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, event, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.errors import InvalidQuery, StoreError
from bot.store import migrate
from bot.store.console import ConsoleStore
from bot.store.models import (
    ChatSession,
    ConsoleSessionRow,
    FeedbackRow,
    HandoffReplyRow,
    HandoffRow,
    KioskSessionRow,
    KioskUsageRow,
    ReviewRow,
    TurnRow,
    WechatMessageRow,
    WechatUserRow,
)
from bot.types import Answer

logger = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PURGE_EVERY_SECONDS = 600.0
DAY = 86400.0


@dataclass(frozen=True)
class Turn:
    """One question and answer of a session."""

    message_id: str
    question: str
    resolved_question: str
    answer: str
    citations: list[dict[str, Any]]
    refused: bool
    created_at: float
    session_id: str = ""
    reason: str | None = None
    mode: str = "extractive"


@dataclass(frozen=True)
class WechatMessage:
    """One text message received from a WeChat user, and the state of its reply."""

    msg_id: str
    question: str
    status: str
    reply: str | None
    delivered: bool
    created_at: float


@dataclass
class Person:
    """Everything stored about one person: their sessions with turns and feedback, and WeChat messages."""

    sessions: list[dict[str, Any]] = field(default_factory=list)  # each with its hand-off requests and replies
    wechat_messages: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def pseudonym_key(settings: Settings) -> bytes:
    """The key WeChat openids are hashed with: pseudonym_key, else derived from the WeChat secrets."""
    if settings.pseudonym_key is not None and settings.pseudonym_key.get_secret_value():
        return settings.pseudonym_key.get_secret_value().encode()
    secrets = [s.get_secret_value() if s else "" for s in (settings.wechat_token, settings.wechat_aes_key)]
    material = "\n".join([*secrets, settings.wechat_app_id or ""])
    return hashlib.sha256(b"unionbot pseudonyms\n" + material.encode()).digest()


def open_store(settings: Settings) -> Store:
    """The store of these settings, migrated to the newest schema."""
    return Store(settings.store_url, ttl_hours=settings.session_ttl_hours,
                 retention_days=settings.retention_days, key=pseudonym_key(settings))


def make_engine(url: str) -> Engine:
    """An engine for SQLite (WAL, foreign keys, writes serialised with BEGIN IMMEDIATE) or PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN itself
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=30000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # no read-then-write upgrade deadlocks between processes

    return engine


class Store:
    """Sessions, turns, feedback, kiosk and WeChat state; safe to share between threads and processes."""

    def __init__(self, url: str, ttl_hours: float = 24.0, retention_days: float = 0, key: bytes = b"",
                 migrate_schema: bool = True) -> None:
        self.url = url
        self.ttl_seconds = ttl_hours * 3600
        self.retention_seconds = retention_days * DAY
        self._key = key
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._purge_lock = threading.Lock()
        self._last_purge = 0.0
        try:
            if migrate_schema:
                migrate.upgrade(self.engine, self.user_key)
            elif migrate.current(self.engine) != migrate.head():
                raise StoreError("对话数据库的结构不是最新的，请先运行 unionbot db upgrade。(Run `unionbot db upgrade`.)")
        except OperationalError as e:
            self.engine.dispose()
            raise StoreError(f"无法打开对话数据库：{e.orig}。请检查 UNIONBOT_DATABASE_URL。(Cannot open the store.)") from e
        self.purge()

    @cached_property
    def console(self) -> ConsoleStore:
        """The officers' console's tables (accounts, audit log, reviews, hand-offs, kiosk keys)."""
        return ConsoleStore(self)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _db(self) -> Iterator[Session]:
        with self._sessions.begin() as db:
            yield db

    def _insert(self, model: type[Any]) -> Any:
        """INSERT with ON CONFLICT support in this database's dialect."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(model.__table__)

    # ---------------------------------------------------------------- sessions

    def session(self, session_id: str | None = None, channel: str = "chat", station: str | None = None,
                now: float | None = None) -> str:
        """An active session id: the given one (created if new; its history restarts when idle past the TTL)."""
        now = time.time() if now is None else now
        if session_id is not None and not _SESSION_ID.match(session_id):
            raise InvalidQuery("会话编号格式不正确。(session_id must be 1-64 letters, digits, '-' or '_'.)")
        sid = session_id or uuid.uuid4().hex
        with self._db() as db:
            db.execute(self._insert(ChatSession).values(
                id=sid, channel=channel, station=station, created_at=now, updated_at=now, context_from=now,
            ).on_conflict_do_nothing(index_elements=["id"]))
            db.execute(update(ChatSession).where(ChatSession.id == sid, ChatSession.updated_at < now - self.ttl_seconds)
                       .values(context_from=now, updated_at=now))
        return sid

    def history(self, session_id: str, limit: int = 3) -> list[Turn]:
        """The last `limit` turns of the session's current context, oldest first."""
        with self._db() as db:
            rows = db.scalars(
                select(TurnRow).join(ChatSession, ChatSession.id == TurnRow.session_id)
                .where(TurnRow.session_id == session_id, TurnRow.created_at >= ChatSession.context_from)
                .order_by(TurnRow.created_at.desc()).limit(limit)
            ).all()
        return [_turn(r) for r in reversed(rows)]

    def add_turn(self, session_id: str, question: str, answer: Answer, now: float | None = None) -> str:
        """Store one answered (or refused) question of an existing session; returns its new message_id."""
        now = time.time() if now is None else now
        message_id = uuid.uuid4().hex
        cites = [{"n": c.n, "passage_id": c.passage.id, "label": c.passage.label} for c in answer.citations]
        with self._db() as db:
            db.add(TurnRow(message_id=message_id, session_id=session_id, question=question,
                           resolved_question=answer.question or question, answer=answer.text, citations=cites,
                           refused=answer.refused, reason=answer.reason, mode=answer.mode, created_at=now))
            db.execute(update(ChatSession).where(ChatSession.id == session_id).values(updated_at=now))
        if now - self._last_purge > PURGE_EVERY_SECONDS:
            self.purge(now)
        return message_id

    def turn(self, message_id: str) -> Turn | None:
        """One stored turn by its message_id, or None."""
        with self._db() as db:
            row = db.get(TurnRow, message_id)
        return _turn(row) if row else None

    # ---------------------------------------------------------------- feedback

    def add_feedback(self, message_id: str, rating: str, comment: str = "", now: float | None = None) -> int:
        with self._db() as db:
            row = FeedbackRow(message_id=message_id, rating=rating, comment=comment,
                              created_at=time.time() if now is None else now)
            db.add(row)
            db.flush()
            return row.id

    def feedback(self, limit: int = 100, offset: int = 0, rating: str | None = None) -> list[dict[str, Any]]:
        """Newest first, with the question, answer and channel the rating is about."""
        query = (select(FeedbackRow, TurnRow, ChatSession)
                 .join(TurnRow, TurnRow.message_id == FeedbackRow.message_id)
                 .join(ChatSession, ChatSession.id == TurnRow.session_id))
        if rating:
            query = query.where(FeedbackRow.rating == rating)
        with self._db() as db:
            rows = db.execute(query.order_by(FeedbackRow.id.desc()).limit(limit).offset(offset)).all()
        return [{"id": f.id, "session_id": t.session_id, "message_id": f.message_id, "rating": f.rating,
                 "comment": f.comment, "created": f.created_at, "question": t.question, "answer": t.answer,
                 "channel": s.channel} for f, t, s in rows]

    def feedback_count(self, rating: str | None = None) -> int:
        query = select(func.count()).select_from(FeedbackRow)
        if rating:
            query = query.where(FeedbackRow.rating == rating)
        with self._db() as db:
            return int(db.scalar(query) or 0)

    # ------------------------------------------------------------------- kiosk

    def count_kiosk(self, station: str, rate_limited: bool = False) -> None:
        day = time.strftime("%Y-%m-%d")
        column = "rate_limited" if rate_limited else "requests"
        stmt = self._insert(KioskUsageRow).values(station=station, day=day, requests=int(not rate_limited),
                                                  rate_limited=int(rate_limited))
        stmt = stmt.on_conflict_do_update(index_elements=["station", "day"],
                                          set_={column: getattr(KioskUsageRow, column) + 1})
        with self._db() as db:
            db.execute(stmt)

    def kiosk_usage(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.scalars(select(KioskUsageRow).order_by(KioskUsageRow.day.desc(), KioskUsageRow.station)).all()
        return [{"station": r.station, "day": r.day, "requests": r.requests, "rate_limited": r.rate_limited}
                for r in rows]

    def kiosk_session(self, station: str, idle_seconds: float) -> str | None:
        """The station's current conversation, unless it has been idle longer than idle_seconds."""
        with self._db() as db:
            row = db.get(KioskSessionRow, station)
        if row and time.time() - row.last_seen <= idle_seconds:
            return row.session_id
        return None

    def set_kiosk_session(self, station: str, session_id: str | None) -> None:
        with self._db() as db:
            if session_id is None:
                db.execute(delete(KioskSessionRow).where(KioskSessionRow.station == station))
                return
            now = time.time()
            db.execute(self._insert(KioskSessionRow).values(station=station, session_id=session_id, last_seen=now)
                       .on_conflict_do_update(index_elements=["station"],
                                              set_={"session_id": session_id, "last_seen": now}))

    # ------------------------------------------------------------------ WeChat

    def user_key(self, openid: str) -> str:
        """The keyed hash an openid is stored as (HMAC-SHA256, hex)."""
        return hmac.new(self._key, openid.encode(), hashlib.sha256).hexdigest()

    def wechat_session(self, openid: str) -> str | None:
        with self._db() as db:
            row = db.get(WechatUserRow, self.user_key(openid))
        return row.session_id if row else None

    def set_wechat_session(self, openid: str, session_id: str) -> None:
        key, now = self.user_key(openid), time.time()
        with self._db() as db:
            db.execute(self._insert(WechatUserRow).values(user_key=key, session_id=session_id, last_seen=now)
                       .on_conflict_do_update(index_elements=["user_key"],
                                              set_={"session_id": session_id, "last_seen": now}))

    def claim_wechat_message(self, msg_id: str, openid: str, question: str) -> bool:
        """Record a new MsgId as pending; False when this MsgId was seen before (a redelivery)."""
        stmt = self._insert(WechatMessageRow).values(
            msg_id=msg_id, user_key=self.user_key(openid), question=question, status="pending", reply=None,
            delivered=False, created_at=time.time(),
        ).on_conflict_do_nothing(index_elements=["msg_id"]).returning(WechatMessageRow.msg_id)
        with self._db() as db:
            return db.execute(stmt).first() is not None

    def wechat_message(self, msg_id: str) -> WechatMessage | None:
        with self._db() as db:
            row = db.get(WechatMessageRow, msg_id)
        return _wechat(row) if row else None

    def latest_wechat_message(self, openid: str) -> WechatMessage | None:
        """The user's most recent question whose reply has not been delivered yet."""
        with self._db() as db:
            row = db.scalars(
                select(WechatMessageRow)
                .where(WechatMessageRow.user_key == self.user_key(openid), WechatMessageRow.delivered.is_(False))
                .order_by(WechatMessageRow.created_at.desc()).limit(1)
            ).first()
        return _wechat(row) if row else None

    def finish_wechat_message(self, msg_id: str, status: str, reply: str) -> None:
        with self._db() as db:
            db.execute(update(WechatMessageRow).where(WechatMessageRow.msg_id == msg_id).values(status=status, reply=reply))

    def deliver_wechat_message(self, msg_id: str) -> bool:
        """Mark the reply as sent; False if it had already been sent (so it is sent once)."""
        with self._db() as db:
            result = db.execute(update(WechatMessageRow)
                                .where(WechatMessageRow.msg_id == msg_id, WechatMessageRow.delivered.is_(False))
                                .values(delivered=True))
            return result.rowcount == 1

    # ----------------------------------------------------- personal data (PIPL)

    def purge(self, now: float | None = None) -> int:
        """Delete conversations idle for longer than the retention period (0 keeps them); returns sessions deleted."""
        now = time.time() if now is None else now
        self._last_purge = now
        if not self.retention_seconds or not self._purge_lock.acquire(blocking=False):
            return 0
        try:
            cutoff = now - self.retention_seconds
            with self._db() as db:
                old = select(ChatSession.id).where(ChatSession.updated_at < cutoff)
                count = self._delete_sessions(db, old)
                db.execute(delete(WechatMessageRow).where(WechatMessageRow.created_at < cutoff))
                db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at < now))
        finally:
            self._purge_lock.release()
        if count:
            logger.info("retention: deleted %d conversations idle for more than %.0f days", count,
                        self.retention_seconds / DAY)
        return count

    def person(self, session_id: str | None = None, openid: str | None = None) -> Person:
        """Everything stored about the person behind a session id or a WeChat openid (for export)."""
        out = Person()
        with self._db() as db:
            for s in db.scalars(select(ChatSession).where(ChatSession.id.in_(self._person_sessions(session_id, openid)))
                                .order_by(ChatSession.created_at)):
                turns = db.scalars(select(TurnRow).where(TurnRow.session_id == s.id).order_by(TurnRow.created_at)).all()
                rated = {t.message_id for t in turns}
                feedback = db.scalars(select(FeedbackRow).where(FeedbackRow.message_id.in_(rated))).all() if rated else []
                out.sessions.append({
                    "session_id": s.id, "channel": s.channel, "station": s.station, "created_at": s.created_at,
                    "updated_at": s.updated_at,
                    "turns": [asdict(_turn(t)) for t in turns],
                    "feedback": [{"message_id": f.message_id, "rating": f.rating, "comment": f.comment,
                                  "created_at": f.created_at} for f in feedback],
                    "handoffs": [ConsoleStore._handoff(db, h) for h in db.scalars(
                        select(HandoffRow).where(HandoffRow.session_id == s.id).order_by(HandoffRow.created_at))],
                })
            if openid:
                out.wechat_messages = [asdict(_wechat(w)) for w in db.scalars(
                    select(WechatMessageRow).where(WechatMessageRow.user_key == self.user_key(openid))
                    .order_by(WechatMessageRow.created_at))]
        return out

    def forget(self, session_id: str | None = None, openid: str | None = None) -> dict[str, int]:
        """Delete everything stored about the person behind a session id or a WeChat openid."""
        with self._db() as db:
            sessions = self._delete_sessions(db, list(db.scalars(self._person_sessions(session_id, openid))))
            messages = 0
            if openid:
                key = self.user_key(openid)
                messages = db.execute(delete(WechatMessageRow).where(WechatMessageRow.user_key == key)).rowcount
                db.execute(delete(WechatUserRow).where(WechatUserRow.user_key == key))
        logger.info("deleted a person's data: %d sessions, %d WeChat messages", sessions, messages)
        return {"sessions": sessions, "wechat_messages": messages}

    def _person_sessions(self, session_id: str | None, openid: str | None) -> Any:
        """A select of the session ids that belong to the person."""
        if not session_id and not openid:
            raise InvalidQuery("请给出会话编号或微信 openid。(Give a session id or a WeChat openid.)")
        query = select(ChatSession.id).where(ChatSession.id == (session_id or ""))
        if openid:
            query = query.union(select(WechatUserRow.session_id).where(WechatUserRow.user_key == self.user_key(openid)))
        return query

    @staticmethod
    def _delete_sessions(db: Session, ids: Any) -> int:
        """Delete sessions (a list of ids or a select of them that the deletions do not change) and all that
        hangs on them, explicitly rather than trusting every database's cascades."""
        turns = select(TurnRow.message_id).where(TurnRow.session_id.in_(ids))
        handoffs = select(HandoffRow.id).where(HandoffRow.session_id.in_(ids))
        db.execute(delete(HandoffReplyRow).where(HandoffReplyRow.handoff_id.in_(handoffs)))
        db.execute(delete(HandoffRow).where(HandoffRow.session_id.in_(ids)))
        db.execute(delete(ReviewRow).where(ReviewRow.message_id.in_(turns)))
        db.execute(delete(FeedbackRow).where(FeedbackRow.message_id.in_(turns)))
        db.execute(delete(TurnRow).where(TurnRow.session_id.in_(ids)))
        db.execute(delete(KioskSessionRow).where(KioskSessionRow.session_id.in_(ids)))
        db.execute(delete(WechatUserRow).where(WechatUserRow.session_id.in_(ids)))
        return db.execute(delete(ChatSession).where(ChatSession.id.in_(ids))).rowcount


def _turn(r: TurnRow) -> Turn:
    return Turn(message_id=r.message_id, question=r.question, resolved_question=r.resolved_question, answer=r.answer,
                citations=list(r.citations), refused=bool(r.refused), created_at=r.created_at,
                session_id=r.session_id, reason=r.reason, mode=r.mode)


def _wechat(r: WechatMessageRow) -> WechatMessage:
    return WechatMessage(msg_id=r.msg_id, question=r.question, status=r.status, reply=r.reply,
                         delivered=bool(r.delivered), created_at=r.created_at)
