"""Lay questions attached to passages ("question windows"): workers' wording that points to a passage.

Three sources, one mechanism (each question becomes an extra retrieval entry of its passage):
- curated: bot/data/lay_questions/<statute title>.tsv, written by this project from the statute text,
  article by article (`第X条<TAB>style<TAB>question`); attached wherever a statute with that title is indexed;
- sidecar: `<document stem>.questions.tsv` beside a document in the documents folder, written by officers
  (`locator<TAB>question`; see documents/README.md);
- generated: questions an LLM wrote for a passage at index time (`unionbot index --questions`), cached by
  the passage's content hash.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from bot.types import Passage
from bot.zh import squash

SIDECAR_SUFFIX = ".questions.tsv"
_ARTICLE = re.compile(r"^第[零〇一二两三四五六七八九十百千0-9]+条(?:之[一二三四五六七八九十]+)?$")
MAX_QUESTION_CHARS = 300


@dataclass(frozen=True)
class LayQuestion:
    """A question in workers' words that the passage at `row` answers."""

    text: str
    row: int  # line of passages.jsonl
    source: str  # "curated" | "sidecar" | "generated"


def law_key(title: str) -> str:
    """A statute title as question files are named: without 中华人民共和国, 《》 and spaces."""
    return re.sub(r"[《》\s]", "", title.replace("中华人民共和国", ""))


@lru_cache(maxsize=1)
def curated() -> dict[str, dict[str, tuple[str, ...]]]:
    """bot/data/lay_questions: law key -> article (第X条) -> questions."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    folder = resources.files("bot").joinpath("data").joinpath("lay_questions")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".tsv"):
            continue
        table: dict[str, list[str]] = {}
        for line in entry.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) == 3 and _ARTICLE.match(cols[0].strip()) and cols[2].strip():
                table.setdefault(cols[0].strip(), []).append(cols[2].strip())
        out[law_key(entry.name[: -len(".tsv")])] = {a: tuple(qs) for a, qs in table.items()}
    return out


def curated_hash() -> str:
    """Hash of the curated question files (recorded in the index manifest)."""
    h = hashlib.sha256()
    folder = resources.files("bot").joinpath("data").joinpath("lay_questions")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".tsv"):
            h.update(entry.name.encode())
            h.update(entry.read_bytes())
    return h.hexdigest()[:16]


def sidecar_path(document: Path) -> Path:
    """Where officers' questions for a document live: `<stem>.questions.tsv` beside it."""
    return document.with_name(document.stem + SIDECAR_SUFFIX)


@dataclass(frozen=True)
class SidecarRow:
    locator: str  # 第X条, an exact snippet of the passage text, or "" (the best-matching passage)
    question: str


def read_sidecar(path: Path) -> tuple[list[SidecarRow], list[str]]:
    """Rows of a sidecar file and a problem line per malformed row (reported, never fatal)."""
    rows: list[SidecarRow] = []
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [], [f"无法读取问题文件：{e}"]
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        locator, sep, question = line.partition("\t")
        question = question.strip() if sep else locator.strip()
        locator = locator.strip() if sep else ""
        if locator == "*":
            locator = ""
        if not question or len(question) > MAX_QUESTION_CHARS:
            problems.append(f"第 {n} 行：问题为空或超过 {MAX_QUESTION_CHARS} 字")
            continue
        rows.append(SidecarRow(locator, question))
    return rows, problems


def _overlap(question: str, passage: Passage) -> int:
    """Character bigrams shared by the question and the passage (chooses among an article's parts)."""
    q = squash(question)
    text = squash(passage.text)
    return sum(1 for i in range(len(q) - 1) if q[i : i + 2] in text)


def _best(question: str, rows: Sequence[int], passages: Sequence[Passage]) -> int:
    return max(rows, key=lambda r: (_overlap(question, passages[r]), -r))


def article_rows(passages: Sequence[Passage]) -> dict[tuple[str, str], list[int]]:
    """(law key, 第X条) -> passage rows of that statute article (several when a long article was cut)."""
    out: dict[tuple[str, str], list[int]] = {}
    for r, p in enumerate(passages):
        if p.doc_type == "law" and p.article:
            out.setdefault((law_key(p.title), p.article), []).append(r)
    return out


def attach_curated(passages: Sequence[Passage]) -> list[LayQuestion]:
    """Curated questions of every indexed statute, on the passage of their article (the best-matching part
    when a long article was cut into several passages)."""
    table = curated()
    out: list[LayQuestion] = []
    for (key, article), rows in article_rows(passages).items():
        for q in table.get(key, {}).get(article, ()):
            out.append(LayQuestion(q, _best(q, rows, passages), "curated"))
    return out


def attach_sidecar(rows: Iterable[SidecarRow], doc_rows: Sequence[int], passages: Sequence[Passage]) -> tuple[list[LayQuestion], list[str]]:
    """Officers' questions of one file on its passages; a locator that matches nothing is reported."""
    out: list[LayQuestion] = []
    problems: list[str] = []
    for row in rows:
        if not row.locator:
            targets = list(doc_rows)
        elif _ARTICLE.match(row.locator):
            targets = [r for r in doc_rows if passages[r].article == row.locator]
        else:
            snippet = squash(row.locator)
            targets = [r for r in doc_rows if snippet in squash(passages[r].text)]
        if not targets:
            problems.append(f"“{row.locator}”在文档中找不到，问题“{row.question[:20]}”未挂接")
            continue
        out.append(LayQuestion(row.question, _best(row.question, targets, passages), "sidecar"))
    return out, problems


def locator_for(passage: Passage, doc_passages: Sequence[Passage]) -> str:
    """A sidecar locator that finds this passage among its file's passages: 第X条 for a statute article, else
    the shortest opening stretch of its text (from 12 characters) that no other passage of the file contains."""
    if passage.doc_type == "law" and passage.article:
        return passage.article
    text = squash(passage.text)
    others = [squash(p.text) for p in doc_passages if p.id != passage.id]
    for start in range(0, max(1, len(text) - 12)):
        for size in (12, 20, 32):
            snippet = text[start : start + size]
            if len(snippet) >= 8 and not any(snippet in o for o in others):
                return snippet
    return text[:40]


def append_sidecar(document: Path, locator: str, question: str) -> Path:
    """Add one officer's question to a document's `<stem>.questions.tsv` (created when missing)."""
    path = sidecar_path(document)
    line = f"{' '.join(locator.split())}\t{' '.join(question.split())}\n"
    existing = path.read_text(encoding="utf-8-sig") if path.is_file() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    path.write_text(existing + line, encoding="utf-8")
    return path
