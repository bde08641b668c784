"""Cost curves of the dense index: FAISS exact, FAISS HNSW and Milvus (milvus-lite) at 10k, 100k and 1M vectors.

    python scripts/bench_scale.py --source-index /tmp/fresh/index

Vectors come from a real index of ../shared/corpus built with the default embedder (built into
--source-index first if it has no vectors.faiss; the corpus texts are read at run time, never copied): its
sentence-window and lay-question vectors. 200 lay-question vectors (query role, as users' questions are
embedded) are held out as queries; the rest are the base. A size above the base is filled with perturbed
copies of base vectors (gaussian noise of --noise per dimension, then renormalised), since embedding 1M
real passages is impossible on this machine. Each engine runs in its own subprocess (so peak RSS,
ru_maxrss of that process, is its own); exact search gives the ground truth for recall@10.
Writes docs/performance.md and docs/performance.png (matplotlib, from the `dev` extra).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: this checkout's bot package

from bot import vectors  # noqa: E402
from bot.config import Settings  # noqa: E402

CHUNK = 50_000  # rows read from the data file at a time (never the whole file: peak RSS is the engine's)
K = 10
RETRIEVER_DEPTH = 400  # entries the retriever asks for: candidates 50 x WINDOW_DEPTH 8 (bot/retrieve.py)
DEEP_QUERIES = 50  # queries timed at that depth


# ---------------------------------------------------------------- data


def real_vectors(source: Path, documents: Path) -> tuple[np.ndarray, np.ndarray]:
    """(window vectors, lay-question vectors) of a real index, built from `documents` first if missing."""
    import faiss

    if not (source / "vectors.faiss").exists():
        from bot.index import build_index

        print(f"building the real index of {documents} into {source} (default embedder, several minutes)", flush=True)
        build_index(Settings(documents_dir=documents, index_dir=source), progress=True)
    out = []
    for name in ("vectors.faiss", "questions.faiss"):
        fi = faiss.read_index(str(source / name))
        out.append(fi.reconstruct_n(0, fi.ntotal) if fi.ntotal else np.zeros((0, fi.d), np.float32))
    return out[0], out[1]


def synthetic_vectors(n: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clustered random unit vectors standing in for a real index (the smoke test)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, n // 20), dim))
    x = centres[rng.integers(0, len(centres), n)] + 0.3 * rng.normal(size=(n, dim))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return x[: n // 2], x[n // 2 :]


def split_queries(windows: np.ndarray, questions: np.ndarray, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(base, queries): n_queries lay-question vectors held out as queries, the rest of both as the base."""
    rng = np.random.default_rng(seed)
    pool = questions if len(questions) >= 2 * n_queries else np.vstack([windows, questions])
    held = rng.choice(len(pool), size=n_queries, replace=False)
    keep = np.ones(len(pool), bool)
    keep[held] = False
    base = np.vstack([windows, pool[keep]]) if pool is questions else pool[keep]
    return base[rng.permutation(len(base))], pool[held]


def write_dataset(base: np.ndarray, n: int, noise: float, path: Path, seed: int = 1) -> None:
    """n float32 rows into path: the base (or its first n rows), then perturbed, renormalised copies of it."""
    rng = np.random.default_rng(seed)
    with path.open("wb") as f:
        f.write(np.ascontiguousarray(base[:n], np.float32).tobytes())
        for start in range(len(base), n, CHUNK):
            rows = np.arange(start, min(n, start + CHUNK)) % len(base)
            x = base[rows] + rng.normal(0.0, noise, (len(rows), base.shape[1])).astype(np.float32)
            f.write((x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32).tobytes())


def read_chunks(path: Path, dim: int) -> Iterator[tuple[int, np.ndarray]]:
    """The rows of a dataset file, CHUNK at a time."""
    row_bytes = dim * 4
    n = path.stat().st_size // row_bytes
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        yield start, np.fromfile(path, dtype=np.float32, count=count * dim, offset=start * row_bytes).reshape(count, dim)


# ---------------------------------------------------------------- engines (each in its own process)


def _latencies(search: Any, queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Seconds per single-query search and the ids found, after 5 warm-up queries."""
    for q in queries[:5]:
        search(q[None, :])
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        ids = search(q[None, :])
        times.append(time.perf_counter() - t)
        found.append(ids)
    return times, found


def _stats(times: list[float]) -> dict[str, float]:
    return {"p50_ms": float(np.percentile(times, 50) * 1e3), "p95_ms": float(np.percentile(times, 95) * 1e3)}


def _recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth)]))


def run_faiss(args: argparse.Namespace, queries: np.ndarray, truth: np.ndarray | None) -> dict[str, Any]:
    """Build a FAISS index (bot/vectors.build, chunk by chunk) and time single-query searches."""
    import faiss

    kind = {"kind": "flat"} if args.engine == "flat" else {"kind": "hnsw", "m": args.m, "ef_construction": args.ef_construction}
    started = time.perf_counter()
    fi = None
    for start, x in read_chunks(args.data, args.dim):
        if fi is None:
            fi = vectors.build(x, kind, args.ef_search[0])
        else:
            fi.add(x)
    build_s = time.perf_counter() - started
    out: dict[str, Any] = {"build_s": build_s, "threads": faiss.omp_get_max_threads()}
    if truth is None:  # the exact engine makes the ground truth (one batched search)
        truth = vectors.exact_top(fi, queries, K)
        np.save(args.truth, truth)
    runs = []
    for ef in args.ef_search if args.engine == "hnsw" else [0]:
        times, found = _latencies(lambda q: vectors.search(fi, q, K, ef)[1][0], queries)
        deep, _ = _latencies(lambda q: vectors.search(fi, q, RETRIEVER_DEPTH, ef)[1][0], queries[:DEEP_QUERIES])
        runs.append({"ef_search": ef, **_stats(times), "recall_at_10": _recall(found, truth),
                     "p50_ms_depth400": float(np.percentile(deep, 50) * 1e3)})
    out["runs"] = runs
    if args.engine == "hnsw":
        out["filtered"] = _filtered(fi, queries, args)
    return out


def _filtered(fi: Any, queries: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Filtered search as the retriever does it (bot/vectors.search_allowed) with random 10% and 1% filters."""
    out = []
    for share in (0.1, 0.01):
        allowed = np.random.default_rng(7).random(fi.ntotal) < share
        ids = np.flatnonzero(allowed)
        sims = queries[:50] @ fi.reconstruct_batch(ids).T  # ground truth: exact top 10 among the allowed ids
        truth = ids[np.argsort(-sims, axis=1)[:, :K]]
        del sims
        times, found = _latencies(
            lambda q: vectors.search_allowed(fi, q, K, allowed, args.ef_search[0], args.exact_up_to)[1][0][:K],
            queries[:50])
        out.append({"share": share, "allowed": int(allowed.sum()),
                    "path": "exact scan" if allowed.sum() <= args.exact_up_to else "HNSW + IDSelector",
                    **_stats(times), "recall_at_10": _recall(found, truth)})
    return out


def run_milvus(args: argparse.Namespace, queries: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """milvus-lite through pymilvus MilvusClient on a local file: insert, HNSW index, single-query searches."""
    from pymilvus import DataType, MilvusClient  # imported here: the FAISS processes' memory must not include it

    started = time.perf_counter()
    client = MilvusClient(str(args.workdir / "milvus.db"))
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=args.dim)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                           params={"M": args.m, "efConstruction": args.ef_construction})
    client.create_collection("bench", schema=schema, index_params=index_params)
    for start, x in read_chunks(args.data, args.dim):
        for s in range(0, len(x), 5000):
            client.insert("bench", [{"id": start + s + i, "vector": v} for i, v in enumerate(x[s : s + 5000])])
    client.flush("bench")
    client.load_collection("bench")
    build_s = time.perf_counter() - started
    info = client.describe_index("bench", "vector")
    runs = []
    for ef in args.ef_search[:1]:  # the configured efSearch only: each milvus-lite query costs tens of ms
        params = {"metric_type": "IP", "params": {"ef": ef}}

        def search(q: np.ndarray, limit: int = K, params: dict[str, Any] = params) -> np.ndarray:
            hits = client.search("bench", data=[q[0]], limit=limit, search_params=params, output_fields=["id"])[0]
            return np.array([h["id"] for h in hits])

        times, found = _latencies(search, queries)
        deep, _ = _latencies(lambda q: search(q, RETRIEVER_DEPTH), queries[:DEEP_QUERIES])
        runs.append({"ef_search": ef, **_stats(times), "recall_at_10": _recall(found, truth),
                     "p50_ms_depth400": float(np.percentile(deep, 50) * 1e3)})
    client.close()
    return {"build_s": build_s, "runs": runs, "index": {k: info.get(k) for k in ("index_type", "indexed_rows", "state")}}


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB): VmHWM, which starts afresh at exec.

    getrusage's ru_maxrss would do in a process started from a small one, but Linux carries the parent's
    peak across fork and exec into it, so every child of this (large) driver would report at least its size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args: argparse.Namespace) -> None:
    """One engine at one size: prints a JSON line with build time, latencies, recall and peak RSS."""
    baseline = peak_rss_mb()
    queries = np.load(args.query_file)
    truth = np.load(args.truth) if args.engine != "flat" else None
    if args.engine == "milvus":
        out = run_milvus(args, queries, truth)  # type: ignore[arg-type]
    else:
        out = run_faiss(args, queries, truth)
    out.update(engine=args.engine, n=args.n, baseline_rss_mb=baseline,
               peak_rss_mb=peak_rss_mb())
    print("RESULT " + json.dumps(out), flush=True)


# ---------------------------------------------------------------- driver


def exact_threshold_sweep(base: np.ndarray, noise: float, sizes: list[int], queries: np.ndarray) -> list[dict[str, Any]]:
    """p50 of one exact (IndexFlatIP) query, top 10, at sizes around the threshold, with 1 and 2 OpenMP threads."""
    import faiss

    rows = []
    rng = np.random.default_rng(3)
    for n in sizes:
        extra = max(0, n - len(base))
        x = base[:n]
        if extra:
            copies = base[np.arange(extra) % len(base)] + rng.normal(0.0, noise, (extra, base.shape[1])).astype(np.float32)
            x = np.vstack([x, copies / np.linalg.norm(copies, axis=1, keepdims=True)])
        fi = vectors.build(x, {"kind": "flat"})
        row: dict[str, Any] = {"n": n}
        for threads in (1, 2):
            faiss.omp_set_num_threads(threads)
            times, _ = _latencies(lambda q: fi.search(q, K)[1][0], queries)
            row[f"p50_ms_{threads}t"] = float(np.percentile(times, 50) * 1e3)
            row[f"p95_ms_{threads}t"] = float(np.percentile(times, 95) * 1e3)
        rows.append(row)
        print(f"  exact n={n}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items() if k != "n"), flush=True)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    return rows


def run_child(engine: str, n: int, work: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--child", "--engine", engine, "--n", str(n), "--dim", str(args.dim),
           "--data", str(work / f"data-{n}.f32"), "--query-file", str(work / "queries.npy"),
           "--truth", str(work / f"truth-{n}.npy"), "--workdir", str(work / f"{engine}-{n}"),
           "--m", str(args.m), "--ef-construction", str(args.ef_construction),
           "--ef-search", ",".join(map(str, args.ef_search)), "--exact-up-to", str(args.exact_up_to)]
    (work / f"{engine}-{n}").mkdir(exist_ok=True)
    print(f"{engine} n={n} ...", flush=True)
    started = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        print(f"  {engine} n={n}: stopped after {args.timeout} s", flush=True)
        return {"engine": engine, "n": n, "error": f"timeout after {args.timeout} s"}
    finally:
        shutil.rmtree(work / f"{engine}-{n}", ignore_errors=True)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if p.returncode or line is None:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        print(f"  {engine} n={n} failed: {' | '.join(tail)}", flush=True)
        return {"engine": engine, "n": n, "error": " | ".join(tail)}
    out = json.loads(line[len("RESULT "):])
    out["wall_s"] = time.perf_counter() - started
    best = out["runs"][0]
    print(f"  build {out['build_s']:.1f} s, p50 {best['p50_ms']:.2f} ms, recall {best['recall_at_10']:.3f}, "
          f"peak RSS {out['peak_rss_mb']:.0f} MB", flush=True)
    return out


def machine() -> dict[str, Any]:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), platform.processor())
    flags = next((ln.split(":", 1)[1].split() for ln in info.splitlines() if ln.startswith("flags")), [])
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1] if Path("/proc/meminfo").exists() else "0"
    versions = {}
    for pkg in ("faiss-cpu", "numpy", "pymilvus", "milvus-lite"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = "not installed"
    return {"cpu": model, "cores": os.cpu_count(), "ram_gib": round(int(mem) / 2**20, 1),
            "simd": [f for f in ("avx2", "avx512f", "fma") if f in flags], "python": platform.python_version(),
            "versions": versions, "load_before": os.getloadavg()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source-index", type=Path, default=Path("/tmp/fresh/index"),
                   help="a real index (vectors.faiss, questions.faiss); built from --documents if missing")
    p.add_argument("--documents", type=Path, default=ROOT.parent / "shared" / "corpus")
    p.add_argument("--synthetic", type=int, default=0, help="use N clustered random vectors instead (smoke test)")
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--engines", default="flat,hnsw,milvus")
    p.add_argument("--milvus-max", type=int, default=1_000_000, help="largest size given to milvus-lite")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--noise", type=float, default=0.015, help="gaussian noise per dimension of the perturbed copies")
    p.add_argument("--threshold-sizes", default="5000,10000,20000,30000,40000,50000,100000")
    p.add_argument("--m", type=int, default=Settings().hnsw_m)
    p.add_argument("--ef-construction", type=int, default=Settings().hnsw_ef_construction)
    p.add_argument("--ef-search", default=None, help="comma-separated; the first is the configured one")
    p.add_argument("--exact-up-to", type=int, default=Settings().faiss_approximate_above)
    p.add_argument("--timeout", type=int, default=1800, help="seconds per engine and size")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    p.add_argument("--plot", type=Path, default=ROOT / "docs" / "performance.png")
    p.add_argument("--results", type=Path, default=None, help="also write the raw results as JSON")
    p.add_argument("--from-results", type=Path, default=None, help="only write the report and plot of a results JSON")
    # child process
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--engine", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dim", type=int, default=384, help=argparse.SUPPRESS)
    p.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--truth", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--query-file", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.ef_search = [int(x) for x in args.ef_search.split(",")]
        child(args)
        return
    if args.from_results:
        results = json.loads(args.from_results.read_text(encoding="utf-8"))
        plot(results, args.plot)
        args.out.write_text(report(results, args.plot), encoding="utf-8")
        return
    configured = Settings().hnsw_ef_search
    args.ef_search = [int(x) for x in args.ef_search.split(",")] if args.ef_search else \
        [configured] + [e for e in (32, 64, 256) if e != configured]
    started = time.perf_counter()
    info = machine()
    if args.synthetic:
        windows, questions = synthetic_vectors(args.synthetic, 64)
        source = f"{args.synthetic} clustered random vectors (64 dimensions)"
    else:
        windows, questions = real_vectors(args.source_index, args.documents)
        source = f"{len(windows)} window and {len(questions)} lay-question vectors of the real index"
    base, queries = split_queries(windows, questions, args.queries)
    args.dim = base.shape[1]
    sizes = [int(x) for x in args.sizes.split(",")]
    engines = args.engines.split(",")
    print(f"{source}; base {len(base)}, {len(queries)} queries, dim {args.dim}", flush=True)
    results: dict[str, Any] = {"machine": info, "source": source, "base": len(base), "noise": args.noise,
                               "m": args.m, "ef_construction": args.ef_construction, "ef_search": args.ef_search,
                               "exact_up_to": args.exact_up_to, "queries": len(queries), "runs": [],
                               "synthetic": bool(args.synthetic),
                               "command": "python scripts/bench_scale.py " + shlex.join(sys.argv[1:])}
    with tempfile.TemporaryDirectory(prefix="unionbot-bench-") as tmp:
        work = Path(tmp)
        np.save(work / "queries.npy", queries)
        print("exact search p50 around the threshold:", flush=True)
        results["threshold"] = exact_threshold_sweep(
            base, args.noise, [int(x) for x in args.threshold_sizes.split(",") if x], queries)
        for n in sizes:
            write_dataset(base, n, args.noise, work / f"data-{n}.f32")
            for engine in ["flat"] + [e for e in engines if e != "flat"]:
                if engine == "milvus" and n > args.milvus_max:
                    results["runs"].append({"engine": engine, "n": n, "error": f"skipped (above --milvus-max {args.milvus_max})"})
                    continue
                r = run_child(engine, n, work, args)
                if r is not None:
                    results["runs"].append(r)
                if args.results:  # kept as it goes: a long run that fails later still has its numbers
                    args.results.write_text(json.dumps(results, indent=1), encoding="utf-8")
            (work / f"data-{n}.f32").unlink()
    info["load_after"] = os.getloadavg()
    results["seconds"] = time.perf_counter() - started
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if args.results:
        args.results.write_text(json.dumps(results, indent=1), encoding="utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    plot(results, args.plot)
    args.out.write_text(report(results, args.plot), encoding="utf-8")
    print(f"wrote {args.out} and {args.plot} in {results['seconds'] / 60:.1f} min", flush=True)


# ---------------------------------------------------------------- output

NAMES = {"flat": "FAISS exact (IndexFlatIP)", "hnsw": "FAISS HNSW (IndexHNSWFlat)", "milvus": "Milvus (milvus-lite, HNSW)"}


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in results["runs"] if "error" not in r]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2))
    panels = [("build_s", "build time (s)"), ("p50_ms", "query p50 (ms), top 10"), ("peak_rss_mb", "peak RSS (MB)"),
              ("recall_at_10", "recall@10 vs exact")]
    for ax, (key, title) in zip(axes, panels):
        for engine in NAMES:
            rows = sorted((r for r in ok if r["engine"] == engine), key=lambda r: r["n"])
            if not rows:
                continue
            ys = [r["runs"][0][key] if key in r["runs"][0] else r[key] for r in rows]
            ax.plot([r["n"] for r in rows], ys, marker="o", label=NAMES[engine])
        for v in (v for v in results.get("variants", []) if not v.get("title")):  # HNSW on the second data set
            rows = sorted((r for r in v["runs"] if r["engine"] == "hnsw" and "error" not in r), key=lambda r: r["n"])
            ys = [r["runs"][0][key] if key in r["runs"][0] else r[key] for r in rows]
            ax.plot([r["n"] for r in rows], ys, marker="s", linestyle="none", color="tab:red",
                    label=f"FAISS HNSW, second data set (σ = {v['noise']})")
        ax.set_xscale("log")
        if key != "recall_at_10":
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("vectors")
        ax.grid(True, which="both", alpha=0.3)
    axes[1].axhline(20, color="grey", linestyle="--", linewidth=0.8)
    axes[3].axhline(0.95, color="grey", linestyle="--", linewidth=0.8)
    axes[0].legend(fontsize=8)
    m = results["machine"]
    fig.suptitle(f"unionbot dense index, {m['cores']} cores ({m['cpu']}), {m['ram_gib']} GiB; HNSW M={results['m']}, "
                 f"efConstruction={results['ef_construction']}, efSearch={results['ef_search'][0]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _fmt(x: float, digits: int = 1) -> str:
    return f"{x:,.{digits}f}"


def _configured(run: dict[str, Any]) -> dict[str, Any]:
    """The efSearch run with the settings' efSearch if it was measured, else the first one."""
    ef = Settings().hnsw_ef_search
    return next((x for x in run["runs"] if x["ef_search"] == ef), run["runs"][0])


def summary(results: dict[str, Any]) -> list[str]:
    """The conclusions: where exact search gets slow, and the targets at the largest size."""
    s = Settings()
    lines = ["## Summary", ""] + [f"- {c}" for c in results.get("conclusions", [])]
    slow = next((t["n"] for t in results["threshold"] if t["p50_ms_1t"] > 2.0), None)
    ratios = [t["p50_ms_2t"] / t["p50_ms_1t"] for t in results["threshold"] if t["n"] >= 10_000] or [1.0]
    if slow is not None:
        lines.append(f"- Exact search (one query, one thread) first passed 2 ms p50 at {slow:,} vectors in this run; "
                     f"unionbot searches a FAISS file exactly up to `faiss_approximate_above` = {s.faiss_approximate_above:,} "
                     "vectors and uses HNSW above. FAISS's default of two OpenMP threads made one query "
                     f"{min(ratios):.0f}-{max(ratios):.0f} times slower from 10,000 vectors up on this busy machine "
                     "(last table), so `bot/vectors.py` searches single queries on one thread.")
    ok = [r for r in results["runs"] if "error" not in r]
    hnsw = max((r for r in ok if r["engine"] == "hnsw"), key=lambda r: r["n"], default=None)
    if hnsw is not None:
        b = _configured(hnsw)
        met = b["recall_at_10"] >= 0.95 and b["p50_ms"] <= 20
        lines.append(f"- Targets at {hnsw['n']:,} vectors (noise σ = {results['noise']}), FAISS HNSW (M = {results['m']}, efConstruction = "
                     f"{results['ef_construction']}, efSearch = {b['ef_search']}): recall@10 {b['recall_at_10']:.3f} "
                     f"(target ≥ 0.95), p50 {b['p50_ms']:.2f} ms (target ≤ 20 ms; {b['p50_ms_depth400']:.2f} ms at the "
                     f"retriever's depth of 400), peak RSS {hnsw['peak_rss_mb']:,.0f} MB, build {hnsw['build_s'] / 60:.1f} min: "
                     + ("both targets met." if met else "NOT met."))
    flat = max((r for r in ok if r["engine"] == "flat"), key=lambda r: r["n"], default=None)
    if flat is not None:
        lines.append(f"- Exact search at {flat['n']:,} vectors: p50 {flat['runs'][0]['p50_ms']:.1f} ms, peak RSS "
                     f"{flat['peak_rss_mb']:,.0f} MB.")
    milvus = max((r for r in ok if r["engine"] == "milvus"), key=lambda r: r["n"], default=None)
    if milvus is not None:
        b = milvus["runs"][0]
        lines.append(f"- milvus-lite (in-process gRPC server, per-segment FAISS HNSW) reached {milvus['n']:,} vectors: "
                     f"build {milvus['build_s'] / 60:.1f} min, p50 {b['p50_ms']:.1f} ms, recall@10 {b['recall_at_10']:.3f}, "
                     f"peak RSS {milvus['peak_rss_mb']:,.0f} MB.")
    for v in results.get("variants", []):
        h = max((r for r in v["runs"] if r["engine"] == "hnsw" and "error" not in r), key=lambda r: r["n"], default=None)
        if h is None:
            continue
        good = [x for x in sorted(h["runs"], key=lambda x: x["ef_search"]) if x["recall_at_10"] >= 0.95]
        first = _configured(h)
        where = (f"Tuned on the data set of noise σ = {v['noise']} (below)" if v.get("title")
                 else f"On the second data set (noise σ = {v['noise']}, below)")
        lines.append(f"- {where} at {h['n']:,} vectors, FAISS HNSW (M = {v['m']}, efConstruction = "
                     f"{v['ef_construction']}): recall@10 {first['recall_at_10']:.3f} at efSearch {first['ef_search']}, p50 "
                     f"{first['p50_ms']:.2f} ms; " + (f"recall ≥ 0.95 from efSearch {good[0]['ef_search']} "
                     f"(p50 {good[0]['p50_ms']:.2f} ms)." if good else "recall < 0.95 at every efSearch tried."))
    failed = [r for r in results["runs"] if "error" in r]
    lines += [f"- {NAMES[r['engine']]} at {r['n']:,} vectors: {r['error']}." for r in failed]
    lines += [f"- {check}" for check in results.get("checks", [])]
    return lines + [""]


def _tables(results: dict[str, Any], h: str) -> list[str]:
    """The results, efSearch and filtered-search tables of one run."""
    order = sorted(results["runs"], key=lambda r: (r["n"], list(NAMES).index(r["engine"])))
    ef, default = results["ef_search"][0], Settings().hnsw_ef_search
    lines = [
        f"HNSW: M = {results['m']}, efConstruction = {results['ef_construction']}, efSearch = {ef}"
        + (f" (the default is now {default}: see the efSearch table). " if ef != default else ". ") +
        f"p50 @400: the depth the retriever really asks for (50 candidates × 8 entries; efSearch is raised to 400), "
        f"{DEEP_QUERIES} queries.",
        "",
        "| engine | vectors | build (s) | p50 (ms) | p95 (ms) | p50 @400 (ms) | recall@10 | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in order:
        if "error" in r:
            lines.append(f"| {NAMES[r['engine']]} | {r['n']:,} | – | – | – | – | – | {r['error']} |")
            continue
        b = r["runs"][0]
        lines.append(f"| {NAMES[r['engine']]} | {r['n']:,} | {_fmt(r['build_s'])} | {_fmt(b['p50_ms'], 2)} | "
                     f"{_fmt(b['p95_ms'], 2)} | {_fmt(b['p50_ms_depth400'], 2)} | {b['recall_at_10']:.3f} | "
                     f"{_fmt(r['peak_rss_mb'], 0)} |")
    lines += ["", f"{h} efSearch", "",
              "| engine | vectors | efSearch | p50 (ms) | p95 (ms) | recall@10 |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in order:
        if "error" in r or r["engine"] == "flat":
            continue
        for run in sorted(r["runs"], key=lambda x: x["ef_search"]):
            lines.append(f"| {NAMES[r['engine']]} | {r['n']:,} | {run['ef_search']} | {_fmt(run['p50_ms'], 2)} | "
                         f"{_fmt(run['p95_ms'], 2)} | {run['recall_at_10']:.3f} |")
    filtered = [(r["n"], f) for r in order if r.get("filtered") for f in r["filtered"]]
    if filtered:
        default = Settings().faiss_approximate_above
        note = "" if results["exact_up_to"] == default else (
            f" (this run used {results['exact_up_to']:,}; the default is now {default:,}, which picks the same path "
            "for every row below)" if all((f["allowed"] <= default) == (f["path"] == "exact scan") for _, f in filtered)
            else f" (this run used {results['exact_up_to']:,}; the default is now {default:,})")
        lines += ["", f"{h} Filtered search (FAISS HNSW index)", "",
                  f"`bot/vectors.search_allowed` as the retriever calls it, with a random filter (worst case for a "
                  f"graph: allowed ids scattered): up to {results['exact_up_to']:,} allowed vectors{note} an exact scan "
                  "of the flat storage restricted by an IDSelector (every allowed vector scored), above it an HNSW search "
                  "restricted by the same selector. Top 10 at the table's efSearch (the retriever asks for 400 entries, so "
                  "searches deeper); recall against the exact top 10 of the allowed vectors, 50 queries.",
                  "", "| vectors | allowed | path | p50 (ms) | p95 (ms) | recall@10 |", "| ---: | ---: | --- | ---: | ---: | ---: |"]
        for n, f in filtered:
            lines.append(f"| {n:,} | {f['allowed']:,} ({f['share']:.0%}) | {f['path']} | {_fmt(f['p50_ms'], 2)} | "
                         f"{_fmt(f['p95_ms'], 2)} | {f['recall_at_10']:.3f} |")
    return lines + [""]


def report(results: dict[str, Any], plot_path: Path) -> str:
    m = results["machine"]
    lines = [
        "# Performance of the dense index at scale",
        "",
        "Generated by `scripts/bench_scale.py` (issue 9, item 5); the numbers below are from one run.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({', '.join(m['simd']) or 'no AVX2'}); RAM {m['ram_gib']} GiB",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        f"- Shared with other sessions: load average {m['load_before'][0]:.1f} before the run and "
        f"{m['load_after'][0]:.1f} after it (2 cores), so latencies are those of a busy machine.",
        "",
        *summary(results),
        "## How to reproduce",
        "",
        "```",
        results["command"].rstrip(),
        "```",
        "",
        f"It took {results['seconds'] / 60:.0f} minutes. The raw numbers are in `performance.json` beside this "
        "file; `python scripts/bench_scale.py --from-results docs/performance.json` writes this page and the plot again "
        "(a second data set is a run of its own, kept under `variants` in that file).",
        "",
        "## Data",
        "",
        f"- Source: {results['source']}" + ("." if results.get("synthetic") else
                                            " (`unionbot index` of `../shared/corpus` with the default embedder)."),
        f"- Queries: {results['queries']} held-out lay-question vectors (query role, like users' questions); "
        f"base: the other {results['base']:,} vectors.",
        f"- A size above the base is the base plus perturbed copies of it: gaussian noise σ = {results['noise']} per "
        f"dimension, renormalised (a copy's cosine to its original ≈ 0.96, about the median nearest-neighbour "
        f"cosine of the real vectors). Isotropic noise makes the data harder for HNSW than real text embeddings.",
        *[f"- {note}" for note in results.get("notes", [])],
        "- Vectors, not passages: the app's `vectors.faiss` holds about 2.8 sentence windows per passage (1M "
        "vectors ≈ 350k passages) and `questions.faiss`, a separate index of the same kind, one vector per lay question.",
        "- Each engine and size runs in its own process; peak memory is that process's peak RSS (VmHWM: Python, "
        "libraries and index; data is read in 50k-row chunks; `ru_maxrss` would include the driver's peak, which "
        "Linux carries across fork and exec). Latency: one query at a time, top 10, after 5 warm-ups; "
        "FAISS searches one query on one OpenMP thread as `bot/vectors.py` does.",
        "",
        "## Results",
        "",
        *_tables(results, "###"),
        f"![cost curves]({plot_path.name})",
        "",
    ]
    for v in results.get("variants", []):
        title = v.get("title") or f"Second data set: noise σ = {v['noise']}"
        lines += [f"## {title}", "", v.get("why", ""), "", "```",
                  v["command"].rstrip(), "```", "", *_tables(v, "###")]
    lines += ["", "### Exact search around the threshold", "",
              "p50 / p95 of one IndexFlatIP query (top 10) with 1 and 2 OpenMP threads:", "",
              "| vectors | p50 1 thread | p95 1 thread | p50 2 threads | p95 2 threads |", "| ---: | ---: | ---: | ---: | ---: |"]
    for t in results["threshold"]:
        lines.append(f"| {t['n']:,} | {_fmt(t['p50_ms_1t'], 2)} | {_fmt(t['p95_ms_1t'], 2)} | {_fmt(t['p50_ms_2t'], 2)} | "
                     f"{_fmt(t['p95_ms_2t'], 2)} |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
