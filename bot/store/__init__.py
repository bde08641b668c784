"""The conversation store: every channel's sessions, turns, feedback, kiosk and WeChat state in one database.

SQLite by default (a file beside the index, WAL); PostgreSQL when settings.database_url says so. The schema
is created and upgraded by the Alembic migrations in bot/store/migrations.
"""

from bot.store.conversations import Person, Store, Turn, WechatMessage, open_store

__all__ = ["Person", "Store", "Turn", "WechatMessage", "open_store"]
