"""Load test: N concurrent clients POST /api/search on a loopback unionbot server for a fixed time.

    unionbot serve --index-dir /tmp/ua-index --port 8000 &
    python scripts/loadtest.py --url http://127.0.0.1:8000 --clients 20 --seconds 30

Prints requests per second, error count and latency percentiles (and the server's RSS when --pid is given).
Only loopback URLs are accepted.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

logger = logging.getLogger("loadtest")

QUERIES = [
    "试用期最长多久",
    "老板拖欠工资怎么办",
    "加班费怎么计算",
    "工伤认定需要哪些材料",
    "女职工产假多少天",
    "快递员如何加入工会",
    "没签劳动合同能要求双倍工资吗",
    "年休假天数",
    "劳动争议仲裁时效",
    "最低工资标准",
    "工会经费怎么收取",
    "职工代表大会职权",
    "产业工人队伍建设改革",
    "新就业形态劳动者权益保障",
    "解除劳动合同经济补偿",
    "社会保险缴费",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def rss_mb(pid: int) -> float | None:
    """Resident set size of a process from /proc (Linux), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def client_loop(
    url: str, deadline: float, start: int, top_k: int, unique: bool,
    latencies: list[float], errors: list[str], lock: threading.Lock,
) -> None:
    queries = itertools.islice(itertools.cycle(QUERIES), start, None)
    if unique:  # every request a new query text, so no cache can help
        queries = (f"{q} 第{start}-{n}问" for n, q in enumerate(queries))
    mine: list[float] = []
    bad: list[str] = []
    with httpx.Client(base_url=url, timeout=10.0) as http:
        for query in queries:  # bounded by the deadline
            if time.monotonic() >= deadline:
                break
            t0 = time.perf_counter()
            try:
                r = http.post("/api/search", json={"query": query, "top_k": top_k})
                ok = r.status_code == 200 and "results" in r.json()
                if not ok:
                    bad.append(f"{r.status_code}: {r.text[:120]}")
            except httpx.HTTPError as e:
                bad.append(type(e).__name__)
            mine.append((time.perf_counter() - t0) * 1000)
    with lock:
        latencies.extend(mine)
        errors.extend(bad)


def run(url: str, clients: int, seconds: float, top_k: int, unique: bool = False) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    httpx.get(f"{url}/healthz", timeout=30).raise_for_status()
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(target=client_loop, args=(url, deadline, i, top_k, unique, latencies, errors, lock), daemon=True)
        for i in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    elapsed = time.monotonic() - started
    for e in sorted(set(errors))[:5]:
        logger.warning("error: %s", e)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": statistics.fmean(latencies) if latencies else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--unique", action="store_true", help="make every query text unique (measures uncached search)")
    ap.add_argument("--pid", type=int, help="server process id, to report its RSS")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    host = urlparse(args.url).hostname
    if host not in LOOPBACK:
        ap.error(f"only loopback URLs are allowed, not {host!r}")
    if not (1 <= args.clients <= 200 and 0 < args.seconds <= 600):
        ap.error("--clients must be 1..200 and --seconds 0..600")
    res = run(args.url.rstrip("/"), args.clients, args.seconds, args.top_k, args.unique)
    logger.info(
        "POST /api/search%s  clients=%d  seconds=%.0f  requests=%d  rps=%.1f  errors=%d  p50=%.1f ms  p95=%.1f ms  p99=%.1f ms",
        " (unique queries)" if args.unique else "", args.clients, args.seconds, res["requests"], res["rps"], res["errors"], res["p50_ms"], res["p95_ms"], res["p99_ms"],
    )
    if args.pid:
        rss = rss_mb(args.pid)
        logger.info("server RSS: %s", f"{rss:.0f} MB" if rss is not None else "unknown")
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
