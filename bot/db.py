"""The state database: one SQLite file (WAL) shared by sessions and the service's tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def connect(path: Path, schema: str, **kwargs: Any) -> sqlite3.Connection:
    """A connection shared between threads (callers hold a lock), in WAL mode, with the schema created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, timeout=10, **kwargs)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(schema)
    return db
