"""Live reindex without downtime (issue 10): `unionbot index --reload URL` while a load test runs through the
switch; zero failed requests, and the new text is found afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_tiny_corpus
from tests.corpus_text import NEWSLETTER
from tests.test_shared_store import _serve

TOKEN = "reload-admin-token"
NEW_TEXT = NEWSLETTER.replace("扬州", "明月港")


def _index(docs: Path, index_dir: Path, *extra: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "index", "--documents", str(docs), "--index-dir", str(index_dir),
                           *extra], env=env, capture_output=True, text=True, timeout=300)


def _top_file(url: str, query: str) -> str:
    hits = httpx.post(f"{url}/api/search", json={"query": query, "top_k": 1}, timeout=30).json()["results"]
    return hits[0]["source_file"] if hits else ""


@pytest.mark.slow
def test_reload_under_load_fails_no_request(tmp_path: Path) -> None:
    docs = write_tiny_corpus(tmp_path / "docs")
    env = {**os.environ, "UNIONBOT_EMBEDDER": "fake", "UNIONBOT_INDEX_DIR": str(tmp_path / "index"),
           "UNIONBOT_STATE_DB": str(tmp_path / "state.sqlite3"), "UNIONBOT_ADMIN_TOKEN": TOKEN,
           "UNIONBOT_PUBLIC_RATE_PER_MINUTE": "0"}
    assert _index(docs, tmp_path / "index", env=env).returncode == 0
    proc, url = _serve(env, tmp_path / "server.log")
    try:
        assert _top_file(url, "明月港工会驿站") != "明月港简讯.txt"
        stop = threading.Event()
        served: list[int] = []
        failures: list[str] = []

        def load(n: int) -> None:
            with httpx.Client(base_url=url, timeout=30) as client:
                while not stop.is_set():
                    try:
                        if n % 2:
                            r = client.post("/api/search", json={"query": f"工会驿站 货车司机 {len(served) % 7}"})
                        else:
                            r = client.post("/api/chat", json={"message": "扬州工会驿站有多少家？"})
                        (served if r.status_code == 200 else failures).append(r.status_code)
                    except httpx.HTTPError as e:
                        failures.append(repr(e))

        threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        (docs / "明月港简讯.txt").write_text(NEW_TEXT, encoding="utf-8")
        before = len(served)
        r = _index(docs, tmp_path / "index", "--reload", url, env=env)
        assert r.returncode == 0, r.stderr + r.stdout
        assert "已切换到新索引" in r.stdout
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(30)
        assert failures == []
        assert len(served) - before > 20  # requests were served while the index was rebuilt and switched
        assert _top_file(url, "明月港工会驿站") == "明月港简讯.txt"
        print(json.dumps({"served_during_reindex": len(served) - before, "served": len(served), "failed": len(failures)}))
    finally:
        proc.terminate()
        proc.wait(10)
