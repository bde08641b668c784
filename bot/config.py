"""All settings in one place: environment variables with the UNIONBOT_ prefix, overridden by CLI flags."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROMPTS_DIR = Path(__file__).resolve().parent / "prompt_templates"  # shipped in the package (wheels too)


class Settings(BaseSettings):
    """Settings of indexing, retrieval, answering and serving."""

    model_config = SettingsConfigDict(env_prefix="UNIONBOT_", env_file=".env", extra="ignore")

    # Where things live.
    documents_dir: Path = Path("documents")
    index_dir: Path = Path("index")
    prompts_dir: Path = PROMPTS_DIR
    state_db: Path | None = None  # SQLite conversation store; default: beside the index
    database_url: SecretStr | None = None  # e.g. postgresql+psycopg://user:pass@host/unionbot; overrides state_db

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
    embedder: str = "e5-small-q4"  # registry key: e5-small-q4 | sentence-transformers | fake
    embedding_model: str = ""  # model name or local path for sentence-transformers
    embed_batch_size: int = 32

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
    kiosk_rate_per_minute: int = 30
    kiosk_idle_seconds: int = 60
    max_body_bytes: int = 64 * 1024
    wechat_token: str | None = None
    wechat_app_id: str | None = None
    wechat_aes_key: str | None = None
    wechat_reply_seconds: float = 4.0

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not 0 < self.passage_min_chars < self.passage_max_chars:
            raise ValueError("passage_min_chars must be > 0 and < passage_max_chars")
        if self.top_k < 1 or self.candidates < self.top_k:
            raise ValueError("top_k must be >= 1 and candidates >= top_k")
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
