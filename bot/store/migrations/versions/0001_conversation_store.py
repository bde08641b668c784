"""One conversation store: sessions, turns, feedback, kiosk usage and sessions, WeChat users and messages.

An SQLite state file of version 0.1 (tables `sessions`/`turns` and the `api_*` tables, which stored each
exchange twice) is imported: every exchange becomes one turn, WeChat openids become keyed hashes.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

logger = logging.getLogger("bot.store.migrations")
LEGACY = ("legacy_sessions", "legacy_turns", "api_messages", "api_feedback", "api_kiosk_usage",
          "api_kiosk_sessions", "api_wechat_users", "api_wechat_messages")


def upgrade() -> None:
    bind = op.get_bind()
    tables = set(sa.inspect(bind).get_table_names())
    legacy = "sessions" in tables and "channel" not in {c["name"] for c in sa.inspect(bind).get_columns("sessions")}
    if legacy:  # version 0.1: move its tables aside (their names and one index name are reused)
        op.execute("DROP INDEX IF EXISTS turns_by_session")
        op.rename_table("sessions", "legacy_sessions")
        if "turns" in tables:
            op.rename_table("turns", "legacy_turns")
    create_tables()
    if legacy:
        import_legacy(bind, set(sa.inspect(bind).get_table_names()))
        for name in LEGACY:
            op.execute(f"DROP TABLE IF EXISTS {name}")


def downgrade() -> None:
    for name in ("wechat_messages", "wechat_users", "kiosk_sessions", "kiosk_usage", "feedback", "turns", "sessions"):
        op.drop_table(name)


def create_tables() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("station", sa.String(128)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("context_from", sa.Float, nullable=False),
    )
    op.create_index("ix_sessions_updated_at", "sessions", ["updated_at"])
    op.create_table(
        "turns",
        sa.Column("message_id", sa.String(32), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("resolved_question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("refused", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(32)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("turns_by_session", "turns", ["session_id", "created_at"])
    op.create_index("ix_turns_created_at", "turns", ["created_at"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(32), sa.ForeignKey("turns.message_id", ondelete="CASCADE"), nullable=False),
        sa.Column("rating", sa.String(4), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.CheckConstraint("rating IN ('up', 'down')", name="feedback_rating"),
    )
    op.create_index("ix_feedback_message_id", "feedback", ["message_id"])
    op.create_table(
        "kiosk_usage",
        sa.Column("station", sa.String(128), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("rate_limited", sa.Integer, nullable=False),
    )
    op.create_table(
        "kiosk_sessions",
        sa.Column("station", sa.String(128), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    op.create_table(
        "wechat_users",
        sa.Column("user_key", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(64), sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    op.create_table(
        "wechat_messages",
        sa.Column("msg_id", sa.String(64), primary_key=True),
        sa.Column("user_key", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reply", sa.Text),
        sa.Column("delivered", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("wechat_messages_by_user", "wechat_messages", ["user_key", "created_at"])
    op.create_index("ix_wechat_messages_created_at", "wechat_messages", ["created_at"])


def import_legacy(bind: sa.Connection, tables: set[str]) -> None:
    """Copy version 0.1's rows into the new tables: one turn per exchange, openids hashed."""
    pseudonym: Callable[[str], str] | None = context.config.attributes.get("pseudonym")

    def rows(table: str) -> list[dict[str, Any]]:
        if table not in tables:
            return []
        return [dict(r._mapping) for r in bind.execute(sa.text(f"SELECT * FROM {table}"))]

    meta = sa.MetaData()
    meta.reflect(bind, only=["sessions", "turns", "feedback", "kiosk_usage", "kiosk_sessions", "wechat_users",
                             "wechat_messages"])
    t = meta.tables

    messages = {m["message_id"]: m for m in rows("api_messages")}
    sessions: dict[str, dict[str, Any]] = {}
    for s in rows("legacy_sessions"):
        sessions[s["id"]] = {"id": s["id"], "channel": "cli", "station": None, "created_at": s["created_at"],
                             "updated_at": s["updated_at"], "context_from": s["created_at"]}
    turns: dict[str, dict[str, Any]] = {}
    for r in rows("legacy_turns"):
        turns[r["message_id"]] = {
            "message_id": r["message_id"], "session_id": r["session_id"], "question": r["question"],
            "resolved_question": r["resolved_question"], "answer": r["answer"], "citations": json.loads(r["citations"]),
            "refused": bool(r["refused"]), "reason": None, "mode": "unknown", "created_at": r["created_at"],
        }
    skipped = 0
    for m in messages.values():  # the service's copy outlived expired sessions; it also knows the channel
        sid = m["session_id"]
        if not sid:
            skipped += 1
            continue
        channel, _, station = str(m["channel"]).partition(":")
        s = sessions.setdefault(sid, {"id": sid, "channel": channel, "station": None, "created_at": m["created"],
                                      "updated_at": m["created"], "context_from": m["created"]})
        s["channel"], s["station"] = channel, station or None
        s["created_at"], s["updated_at"] = min(s["created_at"], m["created"]), max(s["updated_at"], m["created"])
        turns.setdefault(m["message_id"], {
            "message_id": m["message_id"], "session_id": sid, "question": m["question"],
            "resolved_question": m["question"], "answer": m["answer"],
            "citations": [{"n": i, "passage_id": p, "label": ""} for i, p in enumerate(json.loads(m["citations"]), 1)],
            "refused": bool(m["refused"]), "reason": None, "mode": "unknown", "created_at": m["created"],
        })
    _insert(bind, t["sessions"], list(sessions.values()))
    _insert(bind, t["turns"], [x for x in turns.values() if x["session_id"] in sessions])
    _insert(bind, t["feedback"], [
        {"id": f["id"], "message_id": f["message_id"], "rating": f["rating"], "comment": f["comment"] or "",
         "created_at": f["created"]}
        for f in rows("api_feedback") if f["message_id"] in turns])
    _insert(bind, t["kiosk_usage"], rows("api_kiosk_usage"))
    _insert(bind, t["kiosk_sessions"], [k for k in rows("api_kiosk_sessions") if k["session_id"] in sessions])
    users, wechat = rows("api_wechat_users"), rows("api_wechat_messages")
    if (users or wechat) and pseudonym is None:
        raise RuntimeError("importing WeChat users needs the pseudonym key (settings: pseudonym_key or wechat_token)")
    _insert(bind, t["wechat_users"], [
        {"user_key": pseudonym(u["openid"]), "session_id": u["session_id"], "last_seen": u["last_seen"]}
        for u in users if u["session_id"] in sessions and pseudonym])
    _insert(bind, t["wechat_messages"], [
        {"msg_id": w["msg_id"], "user_key": pseudonym(w["openid"]), "question": w["question"], "status": w["status"],
         "reply": w["reply"], "delivered": bool(w["delivered"]), "created_at": w["created"]}
        for w in wechat if pseudonym])
    logger.warning("imported the version 0.1 state: %d sessions, %d turns (%d exchanges without a session skipped)",
                   len(sessions), len(turns), skipped)


def _insert(bind: sa.Connection, table: sa.Table, values: list[dict[str, Any]]) -> None:
    if values:
        bind.execute(table.insert(), values)
