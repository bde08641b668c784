"""The conversation store's tables (SQLAlchemy 2 ORM). Times are Unix seconds (UTC) in double precision.

Every exchange is one `Turn` of one `ChatSession`, whatever the channel (chat, kiosk, WeChat, CLI); feedback,
kiosk sessions and WeChat users point at them. Alembic migrations in bot/store/migrations create and change
these tables; a change here needs a new migration (`tests/test_store.py` checks that they agree).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ChatSession(Base):
    """A conversation. Turns before `context_from` are kept for review but no longer used as history."""

    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # chat | kiosk | wechat | cli
    station: Mapped[str | None] = mapped_column(String(128))  # the kiosk's station
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)
    context_from: Mapped[float] = mapped_column(Float)


class TurnRow(Base):
    """One question and the answer (or refusal) given to it."""

    __tablename__ = "turns"
    __table_args__ = (Index("turns_by_session", "session_id", "created_at"),)

    message_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(Text)
    resolved_question: Mapped[str] = mapped_column(Text)  # after follow-up resolution
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{n, passage_id, label}]
    refused: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))  # why it refused
    mode: Mapped[str] = mapped_column(String(16))  # extractive | llm
    created_at: Mapped[float] = mapped_column(Float, index=True)


class FeedbackRow(Base):
    """A thumbs up or down on one turn."""

    __tablename__ = "feedback"
    __table_args__ = (CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("turns.message_id", ondelete="CASCADE"), index=True)
    rating: Mapped[str] = mapped_column(String(4))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[float] = mapped_column(Float)


class KioskUsageRow(Base):
    """Requests per station per local day (no personal data)."""

    __tablename__ = "kiosk_usage"

    station: Mapped[str] = mapped_column(String(128), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, local time
    requests: Mapped[int] = mapped_column(Integer, default=0)
    rate_limited: Mapped[int] = mapped_column(Integer, default=0)


class KioskSessionRow(Base):
    """The conversation a station is in, until it has been idle for kiosk_idle_seconds."""

    __tablename__ = "kiosk_sessions"

    station: Mapped[str] = mapped_column(String(128), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    last_seen: Mapped[float] = mapped_column(Float)


class WechatUserRow(Base):
    """A WeChat user's conversation; the openid is kept only as a keyed hash (`user_key`)."""

    __tablename__ = "wechat_users"

    user_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    last_seen: Mapped[float] = mapped_column(Float)


class WechatMessageRow(Base):
    """A WeChat text message and the state of its reply (answers can take longer than WeChat waits)."""

    __tablename__ = "wechat_messages"
    __table_args__ = (Index("wechat_messages_by_user", "user_key", "created_at"),)

    msg_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_key: Mapped[str] = mapped_column(String(64))
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8))  # pending | done | failed
    reply: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[float] = mapped_column(Float, index=True)


# ------------------------------------------------------------------------------------------- officers' console
# Migration 0002 creates these tables.


class AccountRow(Base):
    """An officer who signs in to the console; the password is kept only as an argon2 hash."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("role IN ('admin', 'officer')", name="accounts_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[float] = mapped_column(Float)
    last_sign_in: Mapped[float | None] = mapped_column(Float)


class ConsoleSessionRow(Base):
    """A signed-in browser: the sha256 of its cookie token, its CSRF token and when it expires."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class SignInFailureRow(Base):
    """One failed sign-in, by account name and by address (`key` is "name:..." or "addr:...")."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("sign_in_failures_by_key", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)


class AuditRow(Base):
    """One change made in the console: who, what, on what (names are copied so entries outlive accounts)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    account: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReviewRow(Base):
    """An officer's review of one turn (thumbs-down or refused): handled or not, with a note."""

    __tablename__ = "reviews"

    message_id: Mapped[str] = mapped_column(ForeignKey("turns.message_id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # open | handled
    note: Mapped[str] = mapped_column(Text)
    account: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[float] = mapped_column(Float)


class HandoffRow(Base):
    """A worker's request to talk to a union officer (转人工), kept with the conversation it came from."""

    __tablename__ = "handoffs"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'claimed', 'answered', 'closed')", name="handoffs_status"),
        Index("handoffs_by_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str | None] = mapped_column(String(32))  # the answer that prompted it
    question: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class HandoffReplyRow(Base):
    """An officer's reply to a hand-off request, shown in the worker's chat."""

    __tablename__ = "handoff_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


class KioskKeyRow(Base):
    """A station key made in the console: only its sha256 is kept (the key is shown once)."""

    __tablename__ = "kiosk_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the key's first characters, to tell keys apart
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float)
