"""A real PostgreSQL server for the tests, started from Debian's binaries on a loopback port.

initdb and pg_ctl refuse to run as root, so as root they run as the `postgres` user (runuser). Without the
binaries the tests that need the server are skipped, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.processes import free_port


def bindir() -> Path | None:
    """Where initdb and pg_ctl are (pg_config --bindir, else Debian's newest /usr/lib/postgresql/N/bin), or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        candidates.insert(0, Path(out))
    return next((p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()), None)


class PostgresServer:
    """One server in a temporary directory; `database()` makes a fresh empty database per test."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="unionbot-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL (psycopg 3)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    found = bindir()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL binaries not found (pg_config --bindir); .ci/run installs postgresql")
        pytest.skip("PostgreSQL binaries not found (apt-get install postgresql)")
    server = PostgresServer(found)
    server.start()
    yield server
    server.stop()
