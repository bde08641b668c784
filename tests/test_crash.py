"""Crash safety, tested by killing (issue 10): SIGKILL `unionbot index` and `unionbot serve` at random moments.

- index: after each kill the previous (or the complete new) index loads, and the next run completes and
  equals a build that was never interrupted;
- server: every exchange whose answer reached the client, and every feedback acknowledged with 201, is in the
  store after the kill.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from bot.index import load_index
from bot.store import Store
from tests.conftest import write_tiny_corpus
from tests.corpus_text import NEWSLETTER
from tests.test_shared_store import _serve

pytestmark = pytest.mark.slow
TRIALS = 20


def _write_version(docs: Path, version: int) -> None:
    """Two versions of a 40-odd file knowledge base: v2 changes 10 files, drops 5 and adds 5."""
    for f in docs.glob("简讯*.txt"):
        f.unlink()
    for i in range(40 if version == 1 else 45):
        if version == 2 and i < 5:
            continue
        city = f"城市{i}" + ("（更新）" if version == 2 and i < 15 else "")
        (docs / f"简讯{i}.txt").write_text(NEWSLETTER.replace("扬州", city), encoding="utf-8")


def _index(docs: Path, index_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "UNIONBOT_EMBEDDER": "fake"}
    return subprocess.Popen([sys.executable, "-m", "bot", "index", "--documents", str(docs), "--index-dir", str(index_dir)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _content(index_dir: Path) -> list[tuple[str, str]]:
    idx = load_index(index_dir)
    assert idx.faiss_index.ntotal == len(idx.window_rows)
    return sorted((p.id, p.text) for p in idx.passages)


def test_killing_the_indexer_never_loses_the_index(tmp_path: Path) -> None:
    docs = write_tiny_corpus(tmp_path / "docs")
    expected = {}
    durations = []
    for version in (1, 2):  # uninterrupted builds of both versions, for comparison (and for timing the kills)
        _write_version(docs, version)
        t0 = time.monotonic()
        assert _index(docs, tmp_path / f"ref{version}").wait(120) == 0
        durations.append(time.monotonic() - t0)
        expected[version] = _content(tmp_path / f"ref{version}")
    run = min(durations)  # kills land anywhere in a run, start-up included, however loaded the machine is
    index_dir = tmp_path / "index"
    _write_version(docs, 1)
    assert _index(docs, index_dir).wait(120) == 0
    rng = random.Random(20261122)
    killed_mid_build = 0
    for trial in range(TRIALS):
        current = 1 if trial % 2 else 2  # each trial has changes to index
        previous = 2 if current == 1 else 1
        _write_version(docs, current)
        proc = _index(docs, index_dir)
        time.sleep(rng.uniform(0.05, 0.95) * run)
        if proc.poll() is None:
            killed_mid_build += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert _content(index_dir) in (expected[previous], expected[current]), f"trial {trial}"
        assert _index(docs, index_dir).wait(120) == 0
        assert _content(index_dir) == expected[current], f"trial {trial}"
    assert killed_mid_build >= TRIALS // 2  # most kills landed while the indexer was running
    assert not list(tmp_path.glob(".index.*"))  # no half-written build left behind


def test_killing_the_server_loses_no_acknowledged_exchange(tmp_path: Path) -> None:
    docs = write_tiny_corpus(tmp_path / "docs")
    assert _index(docs, tmp_path / "index").wait(120) == 0
    state = tmp_path / "state.sqlite3"
    env = {**os.environ, "UNIONBOT_EMBEDDER": "fake", "UNIONBOT_INDEX_DIR": str(tmp_path / "index"),
           "UNIONBOT_STATE_DB": str(state), "UNIONBOT_PUBLIC_RATE_PER_MINUTE": "0"}
    questions = ["公司拖欠工资怎么办？", "扬州工会驿站有多少家？", "年休假有几天？", "试用期最长多久？"]
    rng = random.Random(7)
    answered: list[str] = []
    rated: list[str] = []
    for trial in range(TRIALS):
        proc, url = _serve(env, tmp_path / f"server{trial}.log")
        stop = threading.Event()

        def load(n: int) -> None:
            with httpx.Client(base_url=url, timeout=10) as client:
                while not stop.is_set():
                    try:
                        r = client.post("/api/chat", json={"message": questions[n % len(questions)]})
                        if r.status_code == 200:
                            answer = r.json()
                            answered.append(answer["message_id"])
                            f = client.post("/api/feedback", json={"session_id": answer["session_id"],
                                                                   "message_id": answer["message_id"], "rating": "up"})
                            if f.status_code == 201:
                                rated.append(answer["message_id"])
                    except httpx.HTTPError:
                        return
                    n += 1

        threads = [threading.Thread(target=load, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.3, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(15)
    assert len(answered) > TRIALS * 3  # the kills landed under load
    store = Store(f"sqlite:///{state}")
    try:
        missing = [m for m in answered if store.turn(m) is None]
        kept = {f["message_id"] for f in store.feedback(limit=100000)}
    finally:
        store.close()
    assert missing == []
    assert set(rated) <= kept
    print(json.dumps({"trials": TRIALS, "answers_acknowledged": len(answered), "feedback_acknowledged": len(rated)}))
