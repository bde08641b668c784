"""Smoke test of scripts/bench_scale.py on a couple of thousand synthetic vectors (the real run is not a test)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_scale.py"


@pytest.mark.slow
def test_bench_scale_writes_the_table_and_the_plot(tmp_path: Path):
    engines = "flat,hnsw,milvus" if importlib.util.find_spec("pymilvus") and importlib.util.find_spec("milvus_lite") \
        else "flat,hnsw"
    out, plot, raw = tmp_path / "performance.md", tmp_path / "performance.png", tmp_path / "results.json"
    p = subprocess.run(
        [sys.executable, str(SCRIPT), "--synthetic", "2400", "--sizes", "1000,2000", "--engines", engines,
         "--threshold-sizes", "1000", "--queries", "30", "--ef-search", "64,32", "--exact-up-to", "100",
         "--out", str(out), "--plot", str(plot), "--results", str(raw)],
        capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    results = json.loads(raw.read_text(encoding="utf-8"))
    runs = {(r["engine"], r["n"]): r for r in results["runs"]}
    assert set(runs) == {(e, n) for e in engines.split(",") for n in (1000, 2000)}
    assert all("error" not in r and r["peak_rss_mb"] > 0 and r["runs"][0]["p50_ms"] > 0 for r in runs.values())
    assert runs[("flat", 2000)]["runs"][0]["recall_at_10"] == 1.0
    assert runs[("hnsw", 2000)]["runs"][0]["recall_at_10"] >= 0.9
    paths = {f["path"] for f in runs[("hnsw", 2000)]["filtered"]}
    assert paths == {"exact scan", "HNSW + IDSelector"}  # 200 and 20 allowed of 2000, exact up to 100
    text = out.read_text(encoding="utf-8")
    assert "| FAISS HNSW (IndexHNSWFlat) | 2,000 |" in text and "## Machine" in text and "bench_scale.py --synthetic" in text
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
