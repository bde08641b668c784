"""Milvus as the store of an index's retrieval entries (settings.vector_store = "milvus").

Two collections per index, named after settings.milvus_collection:
  <prefix>_entries  the BM25 entries: each passage (title, chapter, organisation, text) and each lay question,
                    with a sparse field that Milvus's BM25 function makes from the text, and a dense vector
                    (a question's own; for a passage the normalised mean of its windows, for similar passages)
  <prefix>_windows  one dense vector per sentence window of a passage (bot/index.windows)
Every row carries its passage's metadata (doc_type, region, org, year, title, article, source_file), so search
filters become filter expressions. Ids are passage ids, "<passage id>#q<n>" and "<passage id>#w<n>": passage rows
are not stored, as they shift when files change. A re-index upserts the rows of changed files and deletes
those of removed files (on milvus-lite the entries collection is written whole: rewrites_entries); `key` (the
hash of the embedded text) lets unchanged text keep its vectors.

The passages themselves stay in the index folder (passages.jsonl), which the API, facets and documents read
into memory as with FAISS. A file path ending in .db is an embedded milvus-lite database (one process at a time);
http://host:19530 is a Milvus server.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from bot.backends import Bm25Result, Entries, Scope
from bot.config import Settings
from bot.errors import BackendError, IndexMismatch
from bot.types import Filters, Passage
from bot.zh import bm25_tokens, data_lines, in_region

logger = logging.getLogger(__name__)

MAX_LIMIT = 16384  # Milvus's largest topK and query page
BM25_K1, BM25_B = 1.5, 0.75  # bm25s's defaults, so that both stores rank alike
WINDOW_FACTOR = 4  # entries fetched per passage wanted by the native hybrid search (passages have several entries)
VARCHAR = 65535
PUNCTUATION = list("，。！？；：、“”‘’（）《》〈〉【】「」『』…—·～,.!?;:()[]{}<>\"'`~-_/\\|@#$%^&*+=")
_NON_WORD = re.compile(r"\W")
MISSING = "未安装 Milvus 支持，请运行 pip install 'unionbot[milvus]'。(Milvus support is not installed: pip install 'unionbot[milvus]'.)"


@dataclass(frozen=True)
class Target:
    """Where the collections are: the URI, its token, the collection prefix and the BM25 input mode."""

    uri: str
    token: str = ""
    prefix: str = "unionbot"
    bm25: str = "tokens"  # "jieba" | "tokens"

    @property
    def lite(self) -> bool:
        return self.uri.endswith(".db")

    @property
    def entries(self) -> str:
        return f"{self.prefix}_entries"

    @property
    def windows(self) -> str:
        return f"{self.prefix}_windows"

    @classmethod
    def of(cls, settings: Settings) -> "Target":
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        return cls(settings.milvus_address, token, settings.milvus_collection, settings.milvus_bm25)

    def manifest(self) -> dict[str, Any]:
        """What the index manifest records (a change rebuilds the collections); never the token."""
        return {"kind": "milvus", "uri": self.uri, "collection": self.prefix, "bm25": self.bm25}


def _pymilvus() -> Any:
    try:
        import pymilvus
    except ImportError as e:
        raise BackendError(MISSING) from e
    return pymilvus


class _Unimplemented(logging.Filter):
    """milvus-lite's gRPC server logs an error for each call it does not implement and pymilvus tolerates
    (AllocTimestamp while an index is created): keep them out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


def connect(target: Target) -> Any:
    """A MilvusClient; for a .db path this starts milvus-lite in this process (its folder is created)."""
    pymilvus = _pymilvus()
    if target.lite:
        # milvus-lite computes in this process with numpy: its OpenBLAS threads and the embedder's OpenMP threads
        # then fight over the cores (search p50 128 ms instead of 56 ms on 2 cores, README "Milvus").
        threadpool_limits(limits=1, user_api="blas")
        Path(target.uri).parent.mkdir(parents=True, exist_ok=True)
        grpc_log = logging.getLogger("grpc._server")
        if not any(isinstance(f, _Unimplemented) for f in grpc_log.filters):
            grpc_log.addFilter(_Unimplemented())
    try:
        return pymilvus.MilvusClient(uri=target.uri, token=target.token)
    except pymilvus.MilvusException as e:
        hint = "（milvus-lite 文件同一时间只能由一个进程打开，例如正在运行的 unionbot serve）" if target.lite else ""
        raise BackendError(f"无法连接 Milvus {target.uri}{hint}：{e} (Cannot open Milvus at {target.uri}.)") from e


def release(target: Target) -> None:
    """Stop this process's milvus-lite server of a .db path (it also stops at exit)."""
    if target.lite:
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(target.uri)


def bm25_input(text: str, mode: str) -> str:
    """The text Milvus's BM25 function reads: the text itself ("jieba"), or our tokens separated by spaces."""
    if mode == "jieba":
        return text
    return " ".join(_NON_WORD.sub("_", t) for t in bm25_tokens(text))


def _analyzer(target: Target) -> dict[str, Any]:
    if target.bm25 == "jieba":
        words = [line.split()[0] for line in data_lines("userdict.txt")]
        return {"tokenizer": {"type": "jieba", "mode": "search", "dict": ["_default_", *words]},
                "filter": [{"type": "stop", "stop_words": [*data_lines("stopwords.txt"), *PUNCTUATION]}]}
    # Our tokens contain no non-word character (bm25_input), so both split exactly at the spaces.
    return {"tokenizer": "standard" if target.lite else "whitespace"}


def _schema(client: Any, target: Target, dim: int, with_text: bool) -> Any:
    pm = _pymilvus()
    dt = pm.DataType
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("id", dt.VARCHAR, max_length=2048, is_primary=True)
    for name in ("passage_id", "doc_id", "source_file", "title", "org"):
        s.add_field(name, dt.VARCHAR, max_length=VARCHAR)
    for name in ("doc_type", "region", "article", "kind", "key"):
        s.add_field(name, dt.VARCHAR, max_length=1024)
    s.add_field("year", dt.INT64)  # 0: no date
    s.add_field("dense", dt.FLOAT_VECTOR, dim=dim)
    if with_text:
        s.add_field("text", dt.VARCHAR, max_length=VARCHAR, enable_analyzer=True, analyzer_params=_analyzer(target))
        s.add_field("sparse", dt.SPARSE_FLOAT_VECTOR)
        s.add_function(pm.Function(name="bm25", function_type=pm.FunctionType.BM25,
                                   input_field_names=["text"], output_field_names=["sparse"]))
    return s


def _create(client: Any, target: Target, name: str, dim: int) -> None:
    """Create one of the two collections (the entries one with its BM25 function), dropping an old one."""
    if client.has_collection(name):
        client.drop_collection(name)
    with_text = name == target.entries
    params = client.prepare_index_params()
    params.add_index(field_name="dense", index_type="FLAT", metric_type="IP")  # exact, as FAISS IndexFlatIP
    if with_text:
        params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params={"bm25_k1": BM25_K1, "bm25_b": BM25_B})
    client.create_collection(name, schema=_schema(client, target, dim, with_text), index_params=params)


def rewrites_entries(target: Target) -> bool:
    """Whether every build writes the entries collection whole (milvus-lite), so `sync` needs every vector.

    milvus-lite keeps BM25 statistics per segment (a TODO in its _search_sparse): upserted rows would be scored
    against the statistics of their own small segment, and deleted rows still count until it compacts. Measured
    on the reference corpus after one statute file was upserted: dev MRR@10 0.840 -> 0.828. A Milvus server
    keeps collection-wide statistics, so there the changed rows are upserted.
    """
    return target.lite


def exists(client: Any, target: Target) -> bool:
    return bool(client.has_collection(target.entries) and client.has_collection(target.windows))


def _load(client: Any, target: Target) -> None:
    """Load both collections for search and query (milvus-lite releases them when its process ends)."""
    for name in (target.entries, target.windows):
        client.load_collection(name)


def _lit(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _in(field: str, values: Iterable[str]) -> str:
    return f"{field} in [{', '.join(_lit(v) for v in sorted(set(values)))}]"


def expression(filters: Filters, passages: Sequence[Passage]) -> str:
    """A Milvus filter expression that keeps exactly the rows of passages Filters.matches ("" for no filter).

    Region and organisation match by containment and place lists (bot/zh.in_region), so the matching values
    are looked up among the indexed passages and listed.
    """
    parts = []
    if filters.doc_type:
        parts.append(f"doc_type == {_lit(filters.doc_type)}")
    if filters.region:
        parts.append(_in("region", (p.region for p in passages if p.region and in_region(p.region, filters.region))))
    if filters.org:
        orgs = (p.org for p in passages if p.org and filters.org in p.org)
        parts.append(f"({_in('org', orgs)} or {_in('title', (p.title for p in passages if filters.org in p.title))})")
    if filters.year_from is not None or filters.year_to is not None:
        parts.append("year > 0")
        if filters.year_from is not None:
            parts.append(f"year >= {int(filters.year_from)}")
        if filters.year_to is not None:
            parts.append(f"year <= {int(filters.year_to)}")
    return " and ".join(parts)


def _and(*parts: str) -> str:
    return " and ".join(f"({p})" for p in parts if p)


# ----------------------------------------------------------------------------------------------- writing


# One (n, dim) array per (texts, cache keys, query role): stored or cached vectors, or new embeddings.
Embed = Callable[[list[tuple[list[str], list[str], bool]]], list[np.ndarray]]


@dataclass(frozen=True)
class _Rows:
    entries: list[dict[str, Any]]
    windows: list[dict[str, Any]]


def _meta(p: Passage) -> dict[str, Any]:
    return {"passage_id": p.id, "doc_id": p.doc_id, "source_file": p.source_file, "title": p.title,
            "org": p.org or "", "doc_type": p.doc_type, "region": p.region or "", "article": p.article or "",
            "year": p.year or 0}


def _rows(passages: Sequence[Passage], questions: Sequence[Any], files: set[str] | None, target: Target,
          embed: Embed, dim: int) -> _Rows:
    """The rows of every passage of `files` (None: all) and of its lay questions, with vectors from `embed`."""
    from bot.index import _key, _question_key, bm25_text, windows

    keep = [r for r, p in enumerate(passages) if files is None or p.source_file in files]
    win_texts = [(r, w) for r in keep for w in windows(passages[r])]
    kept = set(keep)
    qs = [q for q in questions if q.row in kept]
    wvecs, qvecs = embed([([w for _, w in win_texts], [_key(w) for _, w in win_texts], False),
                          ([q.text for q in qs], [_question_key(q.text) for q in qs], True)])
    out = _Rows([], [])
    mine: dict[int, list[int]] = {}
    for i, (r, text) in enumerate(win_texts):
        n = len(mine.setdefault(r, []))
        mine[r].append(i)
        out.windows.append({"id": f"{passages[r].id}#w{n}", "kind": "window", "key": _key(text),
                            "dense": wvecs[i].astype(np.float32).tolist(), **_meta(passages[r])})
    for r in keep:
        p = passages[r]
        mean = wvecs[mine[r]].mean(axis=0) if mine.get(r) else np.zeros(dim, dtype=np.float32)
        mean = mean / max(float(np.linalg.norm(mean)), 1e-12)
        out.entries.append({"id": p.id, "kind": "passage", "key": "", "dense": mean.astype(np.float32).tolist(),
                            "text": _clip(bm25_input(bm25_text(p), target.bm25)), **_meta(p)})
    count: dict[int, int] = {}
    for q, vec in zip(qs, qvecs):
        n = count[q.row] = count.get(q.row, -1) + 1
        p = passages[q.row]
        out.entries.append({"id": f"{p.id}#q{n}", "kind": "question", "key": _question_key(q.text),
                            "dense": vec.astype(np.float32).tolist(), "text": _clip(bm25_input(q.text, target.bm25)),
                            **_meta(p)})
    return out


def _clip(text: str, limit: int = VARCHAR) -> str:
    """At most `limit` UTF-8 bytes (Milvus's VARCHAR limit), cut at a space or character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    cut = data[:limit].decode("utf-8", errors="ignore")
    return cut.rsplit(" ", 1)[0] if " " in cut else cut


def _query_all(client: Any, collection: str, expr: str, fields: list[str]) -> list[dict[str, Any]]:
    """Every row matching expr, a page at a time."""
    out: list[dict[str, Any]] = []
    while True:
        page = client.query(collection, filter=expr, output_fields=fields, limit=MAX_LIMIT // 2, offset=len(out))
        out.extend(page)
        if len(page) < MAX_LIMIT // 2:
            return out


def vector_cache(client: Any, target: Target, files: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Stored window and lay-question vectors by the hash of their embedded text (of `files`; None: all)."""
    if not exists(client, target):
        return {}
    _load(client, target)
    expr = _and('key != ""', _in("source_file", files) if files is not None else "")
    out: dict[str, np.ndarray] = {}
    for name in (target.windows, target.entries):
        for row in _query_all(client, name, expr, ["key", "dense"]):
            out[row["key"]] = np.asarray(row["dense"], dtype=np.float32)
    return out


def _upsert(client: Any, collection: str, rows: list[dict[str, Any]], batch: int = 512) -> None:
    for start in range(0, len(rows), batch):
        client.upsert(collection, rows[start : start + batch])


def sync(target: Target, dim: int, passages: Sequence[Passage], questions: Sequence[Any], changed: Sequence[str],
         removed: Sequence[str], full: bool, embed: Embed) -> None:
    """Make the collections hold the entries of `passages`.

    full (or no collections yet): create them and insert everything; else upsert the rows of the changed files
    and delete those of changed and removed files that no longer exist (the entries collection is written whole
    where rewrites_entries). `embed` gives the vectors of the rows written.
    """
    client = connect(target)
    try:
        fresh = full or not exists(client, target)
        if fresh:
            for name in (target.entries, target.windows):
                _create(client, target, name, dim)
        else:
            _load(client, target)
        whole = fresh or rewrites_entries(target)
        files = set(changed)
        rows = _rows(passages, questions, None if whole else files, target, embed, dim)
        updates = {target.entries: rows.entries, target.windows: rows.windows}
        if not fresh:
            updates[target.windows] = [r for r in rows.windows if r["source_file"] in files]
            if whole:
                _create(client, target, target.entries, dim)
        for name, written in updates.items():
            _upsert(client, name, written)
        touched = sorted(files | set(removed))
        for name in [] if fresh or not touched else [n for n in updates if not (whole and n == target.entries)]:
            keep = {r["id"] for r in updates[name]}
            stale = [r["id"] for r in _query_all(client, name, _in("source_file", touched), ["id"]) if r["id"] not in keep]
            for start in range(0, len(stale), 1024):
                client.delete(name, ids=stale[start : start + 1024])
        for name in (target.entries, target.windows):
            client.flush(name)
    finally:
        client.close()


# ----------------------------------------------------------------------------------------------- searching


class MilvusStore:
    """bot/backends.EntryStore over the two collections; rows are looked up by passage id."""

    def __init__(self, target: Target, passages: Sequence[Passage], n_questions: int, dim: int, limit: int = MAX_LIMIT) -> None:
        self.target = target
        self.limit = max(1, min(limit, MAX_LIMIT))
        self.client = connect(target)
        self.passages = passages
        self.row_of = {p.id: i for i, p in enumerate(passages)}
        if not exists(self.client, target):
            raise IndexMismatch(f"Milvus {target.uri} 中没有集合 {target.entries}，请运行 unionbot index --rebuild。"
                                f" (The Milvus collections are missing; run 'unionbot index --rebuild'.)")
        _load(self.client, target)
        self._windows = self._count(target.windows)
        entries = self._count(target.entries)
        if entries != len(passages) + n_questions:
            raise IndexMismatch(f"Milvus 集合 {target.entries} 有 {entries} 条，索引有 {len(passages) + n_questions} 条，"
                                f"请运行 unionbot index。 (The Milvus collections do not match the index; run 'unionbot index'.)")
        self.dim = dim
        self._expr = lru_cache(maxsize=256)(lambda f: expression(f, self.passages))

    def _count(self, collection: str) -> int:
        return int(self.client.query(collection, filter="", output_fields=["count(*)"])[0]["count(*)"])

    def _entries(self, hits: Iterable[Any], score: Callable[[float], float] = float) -> Entries:
        scores, rows = [], []
        for h in hits:
            row = self.row_of.get(h["entity"]["passage_id"])
            if row is not None:  # a passage this process does not know (indexed since it loaded)
                scores.append(score(h["distance"]))
                rows.append(row)
        return Entries(np.asarray(scores, dtype=np.float32), np.asarray(rows, dtype=np.int64))

    def _dense(self, collection: str, qv: np.ndarray, depth: int, expr: str) -> Entries:
        hits = self.client.search(collection, data=[np.asarray(qv, dtype=np.float32).reshape(-1).tolist()],
                                  anns_field="dense", limit=min(depth, self.limit), filter=expr,
                                  output_fields=["passage_id"], search_params={"metric_type": "IP"})[0]
        return self._entries(hits)

    def _empty(self, scope: Scope) -> bool:
        return scope.mask is not None and not scope.mask.any()

    def windows(self, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        if self._empty(scope):
            return Entries.none()
        return self._dense(self.target.windows, qv, depth, self._expr(scope.filters))

    def questions(self, qv: np.ndarray, depth: int, scope: Scope) -> Entries:
        if self._empty(scope):
            return Entries.none()
        return self._dense(self.target.entries, qv, depth, _and('kind == "question"', self._expr(scope.filters)))

    def _bm25(self, queries: Sequence[str], limit: int, expr: str) -> list[list[Any]]:
        """Hits per query (none for a query without a token)."""
        texts = [bm25_input(q, self.target.bm25) for q in queries]
        todo = [i for i, t in enumerate(texts) if t.strip()]
        out: list[list[Any]] = [[] for _ in queries]
        if todo:
            found = self.client.search(self.target.entries, data=[texts[i] for i in todo], anns_field="sparse",
                                       limit=limit, filter=expr, output_fields=["passage_id", "kind"],
                                       search_params={"metric_type": "BM25"})
            for i, hits in zip(todo, found):
                out[i] = list(hits)
        return out

    @staticmethod
    def _bm25_score(distance: float) -> float:
        """bm25s's score: milvus-lite reports BM25 as a negative distance, a Milvus server as the positive score,
        and both count the (k1 + 1) factor that bm25s's Lucene variant leaves out."""
        return abs(distance) / (BM25_K1 + 1)

    def bm25(self, queries: Sequence[str], depth: int, scope: Scope) -> list[Bm25Result]:
        n = len(self.passages)
        if self._empty(scope):
            return [Bm25Result(np.zeros(n, dtype=np.float32), Entries.none()) for _ in queries]
        out = []
        for hits in self._bm25(queries, min(depth, self.limit), self._expr(scope.filters)):
            passages = [h for h in hits if h["entity"]["kind"] == "passage"]
            qs = [h for h in hits if h["entity"]["kind"] == "question"]
            p = self._entries(passages, self._bm25_score)
            scores = np.zeros(n, dtype=np.float32)
            scores[p.rows] = p.scores
            out.append(Bm25Result(scores, self._entries(qs, self._bm25_score)))
        return out

    def matching(self, query: str, scope: Scope) -> np.ndarray:
        scores = np.zeros(len(self.passages), dtype=np.float32)
        if self._empty(scope):
            return scores
        hits = self._bm25([query], min(len(self.passages), MAX_LIMIT), _and('kind == "passage"', self._expr(scope.filters)))[0]
        found = self._entries(hits, self._bm25_score)
        scores[found.rows] = found.scores
        return scores

    def near(self, vec: np.ndarray, depth: int) -> Entries:
        return self._dense(self.target.windows, vec, depth, "")

    def hybrid(self, qv: np.ndarray, query: str, k: int, scope: Scope, ranker: str, settings: Settings) -> Entries:
        """Milvus's own hybrid search over the entries collection (question and passage-mean vectors, BM25 of
        passages and questions), fused by RRFRanker(rrf_k) or WeightedRanker(dense_weight, sparse_weight);
        the k best passages, best first (a passage takes its best entry's place)."""
        pm = _pymilvus()
        if self._empty(scope):
            return Entries.none()
        expr = self._expr(scope.filters)
        limit = min(max(self.limit, k * WINDOW_FACTOR), MAX_LIMIT)
        dense = pm.AnnSearchRequest(data=[np.asarray(qv, dtype=np.float32).reshape(-1).tolist()], anns_field="dense",
                                    param={"metric_type": "IP"}, limit=limit, expr=expr)
        requests = [dense]
        text = bm25_input(query, self.target.bm25)
        if text.strip():
            requests.append(pm.AnnSearchRequest(data=[text], anns_field="sparse", param={"metric_type": "BM25"},
                                                limit=limit, expr=expr))
        weights = [settings.dense_weight, settings.sparse_weight][: len(requests)]
        rank = pm.RRFRanker(settings.rrf_k) if ranker == "rrf" else pm.WeightedRanker(*weights)
        hits = self.client.hybrid_search(self.target.entries, requests, rank, limit=limit, output_fields=["passage_id"])[0]
        found = self._entries(hits)
        seen: dict[int, float] = {}
        for score, row in zip(found.scores, found.rows):
            seen.setdefault(int(row), float(score))
        best = list(seen.items())[:k]
        return Entries(np.asarray([s for _, s in best], dtype=np.float32), np.asarray([r for r, _ in best], dtype=np.int64))

    def passage_vector(self, row: int) -> np.ndarray:
        got = self.client.get(self.target.entries, ids=[self.passages[row].id], output_fields=["dense"])
        return np.asarray(got[0]["dense"], dtype=np.float32).reshape(1, -1)

    def count(self) -> int:
        return self._windows

    def close(self) -> None:
        self.client.close()
