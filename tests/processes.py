"""Servers the tests start as child processes on loopback: a free port, start and wait until ready, stop."""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(cmd: Sequence[str], ready_url: str, what: str, *, log: Path | None = None,
                 env: Mapping[str, str] | None = None, timeout: float = 60.0,
                 interval: float = 0.2) -> subprocess.Popen[bytes]:
    """Start `cmd` with its output in `log` (a temporary file when None), then wait_until_ready."""
    if log is None:
        with tempfile.NamedTemporaryFile(prefix=f"{what.replace(' ', '-')}-", suffix=".log", delete=False) as f:
            log = Path(f.name)
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        # Into a file, not a pipe: a pipe nobody reads would fill up and stall the server.
        proc = subprocess.Popen(list(cmd), env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_until_ready(proc, ready_url, log, timeout, what, interval)
    return proc


def wait_until_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float, what: str,
                     interval: float = 0.2) -> None:
    """Poll GET `url` until it answers 200. If `proc` exits first, or `timeout` seconds pass (then it is
    killed), raise RuntimeError with the end of its `log`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{what} did not answer on {url} within {timeout:.0f}s: {_tail(log)}")


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Terminate `proc`; kill it if it has not exited within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tail(log: Path, chars: int = 2000) -> str:
    return log.read_text(errors="replace")[-chars:]
