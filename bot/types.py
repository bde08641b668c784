"""Plain records passed between the stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.zh import in_region

DocType = Literal["law", "case", "news"]


@dataclass(frozen=True)
class SourceFile:
    """One file read from the documents folder."""

    path: str  # relative to the documents folder, '/'-separated
    text: str  # decoded, newlines normalised to \n
    sha256: str  # of the raw bytes
    encoding: str


@dataclass(frozen=True)
class Passage:
    """A citable piece of a document: one statute article (or part of it), or a paragraph-sized piece of a report."""

    id: str  # f"{doc_id}:{position}", stable while the file does not change
    doc_id: str  # one statute, or one article of a newsletter
    text: str  # exactly as in the source
    doc_type: DocType
    title: str  # statute title without 《》, or the article's headline
    source_file: str
    position: int  # 0-based index among the passages of its document
    article: str | None = None  # "第八十二条"
    chapter: str | None = None  # "第七章 法律责任"
    column: str | None = None  # newsletter column without 【】
    org: str | None = None  # author organisation of a report
    region: str | None = None  # main province/city/district named
    regions: tuple[str, ...] = ()  # every place named in the passage's document
    date: str | None = None  # "2024-06-24", "2024-06" or "2024"

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None

    @property
    def label(self) -> str:
        """Short human citation: 《劳动合同法》第八十二条, or headline with organisation and date."""
        if self.doc_type == "law":
            return f"《{self.title}》{self.article or ''}"
        parts = [self.title] + [p for p in (self.org, self.date) if p]
        return "，".join(parts)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["regions"] = list(self.regions)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Passage":
        d = dict(d)
        d["regions"] = tuple(d.get("regions") or ())
        return cls(**d)


@dataclass(frozen=True)
class Hit:
    """A retrieved passage with its fused score (higher is better)."""

    passage: Passage
    score: float
    dense_rank: int | None = None  # 1-based rank in the dense list, None if absent
    sparse_rank: int | None = None
    dense_score: float | None = None  # best cosine between the query and an entry (window or lay question)
    sparse_score: float | None = None  # BM25


@dataclass(frozen=True)
class Filters:
    """Metadata filters for search; None means any."""

    doc_type: str | None = None
    region: str | None = None
    org: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def matches(self, p: Passage) -> bool:
        if self.doc_type and p.doc_type != self.doc_type:
            return False
        if self.region and not in_region(p.region, self.region):  # the region its card shows, not places in passing
            return False
        if self.org and self.org not in (p.org or "") and self.org not in p.title:
            return False
        if self.year_from is not None and (p.year is None or p.year < self.year_from):
            return False
        if self.year_to is not None and (p.year is None or p.year > self.year_to):
            return False
        return True

    @property
    def empty(self) -> bool:
        return not any((self.doc_type, self.region, self.org, self.year_from, self.year_to))


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer."""

    n: int
    passage: Passage
    score: float


@dataclass
class Answer:
    """What the assistant says, with its numbered citations."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    reason: str | None = None  # why it refused: "out_of_domain", "no_evidence", "no_detail", "invalid"
    session_id: str | None = None
    message_id: str | None = None
    question: str = ""  # the question as retrieved (after follow-up resolution)
    mode: str = "extractive"  # "extractive" | "llm"
    next_steps: str | None = None
