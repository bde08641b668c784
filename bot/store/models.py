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
