"""Schema migrations (Alembic, shipped in the package): `unionbot db upgrade`, also run when the store opens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine, pseudonym: Callable[[str], str] | None = None) -> Config:
    """A Config without alembic.ini: the packaged scripts, and the engine's connection handed to env.py."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["pseudonym"] = pseudonym
    return cfg


def upgrade(engine: Engine, pseudonym: Callable[[str], str] | None = None, revision: str = "head") -> None:
    """Bring the schema to `revision` (an existing SQLite file of version 0.1 is imported by the first one)."""
    cfg = alembic_config(engine, pseudonym)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current(engine: Engine) -> str | None:
    """The schema revision of the database (None when it has never been migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The newest revision shipped with this version."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head
