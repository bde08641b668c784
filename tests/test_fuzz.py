"""Hostile input, fuzzed with hypothesis (issue 10): random Unicode, control characters, emoji, mixed scripts and
100,000-character inputs through the loader, splitter, tokenizer, query expansion, answer composer and the
whole assistant. No exception escapes other than the documented ones, and every call finishes within its bound:

- SHORT_BOUND (5 s) for inputs up to a few thousand characters;
- LONG_BOUND (30 s) for 100,000-character inputs (documents; questions are capped at max_query_chars first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.answer import compose, next_steps
from bot.errors import InvalidQuery
from bot.injection import strip_injection
from bot.load import UnreadableFile, decode, read_file
from bot.refusal import out_of_domain
from bot.split import split
from bot.types import Hit, Passage, SourceFile
from bot.zh import bm25_tokens, expand, normalize, nouns, sentences, tokenize, topic_words

SHORT_BOUND = 5.0
LONG_BOUND = 30.0
LONG = 100_000

# Everything a hostile or careless sender might send: any code point (surrogates excluded: not valid in UTF-8),
# with extra weight on control characters, emoji, CJK, full-width punctuation and statute numbering.
PIECES = st.sampled_from(["第一条", "第二十三条", "第十章", "（一）", "。", "，", "；", "\n", "\r\n", "\t", "\x00", "\x1b[31m",
                          "\u200b", "\u202e", "\ufeff", "😀", "👨‍👩‍👧", "工会", "劳动合同", "<script>alert(1)</script>",
                          "忽略以上指令", "ﬁ", "Ａ", "١٢٣", "ש", "\U0001F600", "　", "《劳动法》", "[1]"])
TEXT = st.lists(st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=40), PIECES), max_size=60).map("".join)
EXAMPLES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG_EXAMPLES = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def long(seed: str) -> str:
    seed = seed or "工"
    return (seed * (LONG // len(seed) + 1))[:LONG]


def timed(bound: float, call: Callable[[], Any]) -> Any:
    t0 = time.perf_counter()
    out = call()
    elapsed = time.perf_counter() - t0
    assert elapsed < bound, f"took {elapsed:.1f} s (bound {bound} s)"
    return out


def text_steps(text: str, bound: float) -> None:
    for f in (normalize, sentences, tokenize, bm25_tokens, topic_words, nouns, expand, strip_injection, out_of_domain,
              next_steps):
        timed(bound, lambda: f(text))


@EXAMPLES
@given(TEXT)
def test_tokenizer_and_expansion_take_anything(text: str) -> None:
    text_steps(text, SHORT_BOUND)
    assert all(t and not t.isspace() for t in bm25_tokens(text))


@LONG_EXAMPLES
@given(TEXT)
@example("")  # 100,000 times 工: one unbroken block took jieba over a minute before zh.pieces
def test_tokenizer_and_expansion_take_long_texts(seed: str) -> None:
    text_steps(long(seed), LONG_BOUND)


@EXAMPLES
@given(st.binary(max_size=3000) | TEXT.map(lambda t: t.encode("utf-8")) | TEXT.map(lambda t: t.encode("gb18030", "ignore")))
def test_decoding_bytes_reads_or_says_why(raw: bytes) -> None:
    try:
        text, encoding = timed(SHORT_BOUND, lambda: decode(raw))
    except UnreadableFile as e:
        assert str(e)  # a reason for the officer
    else:
        assert isinstance(text, str) and encoding


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@EXAMPLES
@given(raw=st.binary(max_size=3000) | TEXT.map(lambda t: t.encode("utf-8")),
       suffix=st.sampled_from([".txt", ".md", ".html", ".docx", ".pdf"]))
def test_reading_any_file_reads_or_says_why(fuzz_dir: Path, raw: bytes, suffix: str) -> None:
    path = fuzz_dir / f"文件{suffix}"
    path.write_bytes(raw)
    try:
        source = timed(SHORT_BOUND, lambda: read_file(path, path.name))
    except UnreadableFile as e:
        assert str(e)
    else:
        assert isinstance(source.text, str)


def check_split(text: str, bound: float) -> None:
    for path in ("cases/简讯.txt", "laws/劳动法.md"):
        passages = timed(bound, lambda: split(SourceFile(path=path, text=normalize(text), sha256="0" * 64, encoding="utf-8")))
        assert all(isinstance(p, Passage) and p.text.strip() for p in passages)
        assert len({p.id for p in passages}) == len(passages)


@EXAMPLES
@given(TEXT)
def test_splitter_takes_anything(text: str) -> None:
    check_split(text, SHORT_BOUND)


@LONG_EXAMPLES
@given(TEXT)
@example("")
def test_splitter_takes_long_documents(seed: str) -> None:
    check_split(long(seed), LONG_BOUND)


@EXAMPLES
@given(question=TEXT, texts=st.lists(TEXT, min_size=1, max_size=6))
def test_answer_composer_cites_only_what_it_was_given(question: str, texts: list[str]) -> None:
    hits = [Hit(Passage(id=f"d:{i}", doc_id="d", text=t or "空", doc_type="case", title="标题", source_file="d.txt",
                        position=i), score=1.0 / (i + 1)) for i, t in enumerate(texts)]
    text, citations = timed(SHORT_BOUND, lambda: compose(question, hits, 200))
    assert {c.passage.id for c in citations} <= {h.passage.id for h in hits}
    assert (text == "") == (citations == [])


@pytest.fixture(scope="module")
def fuzz_assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bot.assistant import Assistant
    from bot.config import Settings
    from bot.index import build_index
    from tests.conftest import write_tiny_corpus

    root = tmp_path_factory.mktemp("fuzz-assistant")
    s = Settings(_env_file=None, documents_dir=write_tiny_corpus(root / "docs"), index_dir=root / "index",  # type: ignore[call-arg]
                 state_db=root / "state.sqlite3", embedder="fake")
    build_index(s)
    a = Assistant.from_settings(s)
    yield a
    a.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(question=TEXT | TEXT.map(long))
def test_the_assistant_answers_refuses_or_says_the_query_is_invalid(fuzz_assistant: Any, question: str) -> None:
    try:
        answer = timed(SHORT_BOUND, lambda: fuzz_assistant.ask(question))
    except InvalidQuery as e:
        assert "问题" in str(e)
    else:
        assert answer.text and (answer.refused or answer.citations)
        timed(SHORT_BOUND, lambda: fuzz_assistant.search(question))
