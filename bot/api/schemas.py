"""Request and response models of the HTTP API (separate models per direction, with OpenAPI examples)."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.store import Turn, WechatMessage
from bot.types import Answer, Citation, Filters, Hit, Passage

SessionId = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="会话 ID；不填则开启新会话")


class _In(BaseModel):
    """Request bodies: unknown fields and loose types ("5" for 5, 0 for false) are rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)


# ------------------------------------------------------------------- health


class HealthOut(BaseModel):
    status: Literal["ok"] = "ok"
    passages: int
    documents: int
    embedder: str
    built_at: str | None = None
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ok", "passages": 1480, "documents": 212, "embedder": "e5-small-q4", "built_at": "2025-05-01T08:00:00+00:00"}
            ]
        }
    )


# ------------------------------------------------------------------- search


class FiltersIn(_In):
    doc_type: Literal["law", "case", "news"] | None = Field(None, description="law 法规 | case 案例 | news 工作动态")
    region: str | None = Field(None, max_length=50, description="省、市或区县，如 “浙江”“杭州”")
    org: str | None = Field(None, max_length=100, description="发文或撰稿单位")
    year_from: int | None = Field(None, ge=1949, le=2100)
    year_to: int | None = Field(None, ge=1949, le=2100)

    @model_validator(mode="after")
    def _years(self) -> Self:
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError("year_from 不能晚于 year_to (year_from must not be after year_to)")
        return self

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


class SearchIn(_In):
    query: str = Field(min_length=1, description="检索词或问题")
    top_k: int = Field(5, ge=1, le=50, description="返回条数（1–50）")
    filters: FiltersIn = Field(default_factory=FiltersIn)
    facets: bool = Field(True, description="是否返回按地区、类型、年份的分面计数")
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"query": "快递员 工会 入会", "top_k": 5, "filters": {"doc_type": "case", "region": "浙江", "year_from": 2020}},
                {"query": "试用期最长多久"},
            ]
        },
    )


class SearchResult(BaseModel):
    id: str
    text: str = Field(description="段落原文，与来源一致")
    score: float
    doc_type: str
    title: str
    org: str | None = None
    region: str | None = None
    date: str | None = None
    article: str | None = None
    source_file: str
    label: str = Field(description="引用写法，如《劳动合同法》第十九条")
    highlights: list[tuple[int, int]] = Field(
        default_factory=list, description="text 中与检索词匹配的位置 [start, end)（字符下标）"
    )

    @classmethod
    def from_hit(cls, hit: Hit, highlights: list[tuple[int, int]]) -> "SearchResult":
        p = hit.passage
        return cls(
            id=p.id, text=p.text, score=round(hit.score, 6), doc_type=p.doc_type, title=p.title, org=p.org,
            region=p.region, date=p.date, article=p.article, source_file=p.source_file, label=p.label,
            highlights=highlights,
        )


class Facets(BaseModel):
    region: dict[str, int] = Field(default_factory=dict)
    doc_type: dict[str, int] = Field(default_factory=dict)
    year: dict[str, int] = Field(default_factory=dict)


class SearchOut(BaseModel):
    results: list[SearchResult]
    facets: Facets
    took_ms: float
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "id": "laodong-hetong-fa:18", "text": "第十九条　劳动合同期限三个月以上不满一年的，试用期不得超过一个月……",
                            "score": 0.0325, "doc_type": "law", "title": "劳动合同法", "org": None, "region": None,
                            "date": "2012-12-28", "article": "第十九条", "source_file": "laws/劳动合同法.md",
                            "label": "《劳动合同法》第十九条", "highlights": [[16, 19]],
                        }
                    ],
                    "facets": {"region": {}, "doc_type": {"law": 3}, "year": {"2012": 3}},
                    "took_ms": 12.4,
                }
            ]
        }
    )


# ---------------------------------------------------------------- documents


class DocumentPassage(BaseModel):
    id: str
    position: int
    text: str
    article: str | None = None
    chapter: str | None = None
    column: str | None = None


class DocumentOut(BaseModel):
    doc_id: str
    title: str
    doc_type: str
    org: str | None = None
    region: str | None = None
    date: str | None = None
    source_file: str
    focus: int | None = Field(None, description="所请求段落在 passages 中的位置（按文档 ID 请求时为空）")
    passages: list[DocumentPassage]

    @classmethod
    def from_passages(cls, passages: list[Passage], focus: int | None) -> "DocumentOut":
        first = passages[0]
        return cls(
            doc_id=first.doc_id, title=first.title, doc_type=first.doc_type, org=first.org, region=first.region,
            date=first.date, source_file=first.source_file, focus=focus,
            passages=[
                DocumentPassage(id=p.id, position=p.position, text=p.text, article=p.article, chapter=p.chapter, column=p.column)
                for p in passages
            ],
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "laodong-hetong-fa", "title": "劳动合同法", "doc_type": "law", "org": None, "region": None,
                    "date": "2012-12-28", "source_file": "laws/劳动合同法.md", "focus": 18,
                    "passages": [{"id": "laodong-hetong-fa:18", "position": 18, "text": "第十九条　……", "article": "第十九条", "chapter": "第二章 劳动合同的订立", "column": None}],
                }
            ]
        }
    )


class SimilarOut(BaseModel):
    results: list[SearchResult]


# --------------------------------------------------------------------- chat


class CitationOut(BaseModel):
    n: int = Field(description="回答中的编号 [n]")
    id: str
    label: str
    title: str
    article: str | None = None
    doc_type: str
    org: str | None = None
    region: str | None = None
    date: str | None = None
    source_file: str
    text: str
    score: float

    @classmethod
    def from_citation(cls, c: Citation) -> "CitationOut":
        p = c.passage
        return cls(
            n=c.n, id=p.id, label=p.label, title=p.title, article=p.article, doc_type=p.doc_type, org=p.org,
            region=p.region, date=p.date, source_file=p.source_file, text=p.text, score=round(c.score, 6),
        )


class ChatIn(_In):
    message: str = Field(min_length=1, description="用户的问题")
    session_id: str | None = SessionId
    stream: bool = Field(False, description="true 时以 Server-Sent Events 逐句返回")
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"message": "老板拖欠工资三个月了，我该怎么办？"},
                {"message": "那可以找工会帮忙吗？", "session_id": "3f2b9c0e6d1a4b7c", "stream": True},
            ]
        },
    )


class ChatOut(BaseModel):
    answer: str
    citations: list[CitationOut]
    refused: bool
    reason: str | None = Field(None, description="拒答原因：out_of_domain | no_evidence | no_detail | invalid")
    session_id: str | None
    message_id: str | None
    next_steps: str | None = None
    offer_handoff: bool = Field(False, description="拒答或涉及欠薪、工伤、解雇等重大事项时为 true：页面提供“转人工”")

    @classmethod
    def from_answer(cls, a: Answer, offer_handoff: bool = False) -> "ChatOut":
        return cls(
            answer=a.text, citations=[CitationOut.from_citation(c) for c in a.citations], refused=a.refused,
            reason=a.reason, session_id=a.session_id, message_id=a.message_id, next_steps=a.next_steps,
            offer_handoff=offer_handoff,
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "answer": "用人单位应当按时足额支付劳动报酬 [1]。可以先与单位协商，也可以向劳动保障监察机构投诉 [2]。",
                    "citations": [
                        {
                            "n": 1, "id": "laodong-hetong-fa:29", "label": "《劳动合同法》第三十条", "title": "劳动合同法",
                            "article": "第三十条", "doc_type": "law", "org": None, "region": None, "date": "2012-12-28",
                            "source_file": "laws/劳动合同法.md", "text": "第三十条　用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬……", "score": 0.0331,
                        }
                    ],
                    "refused": False, "reason": None, "session_id": "3f2b9c0e6d1a4b7c", "message_id": "m-8a1d", "next_steps": None,
                    "offer_handoff": True,
                }
            ]
        }
    )


# ----------------------------------------------------------------- feedback


class FeedbackIn(_In):
    session_id: str = Field(min_length=1, max_length=64)
    message_id: str = Field(min_length=1, max_length=64)
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=1000)
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"session_id": "3f2b9c0e6d1a4b7c", "message_id": "m-8a1d", "rating": "down", "comment": "没有提到仲裁时效"}]},
    )


class FeedbackOut(BaseModel):
    id: int
    status: Literal["saved"] = "saved"


class FeedbackItem(BaseModel):
    id: int
    session_id: str
    message_id: str
    rating: str
    comment: str
    created: float
    channel: str | None = None
    question: str | None = None
    answer: str | None = None


class FeedbackList(BaseModel):
    total: int
    items: list[FeedbackItem]


# -------------------------------------------------------------------- kiosk


class KioskIn(_In):
    message: str = Field(min_length=1, description="触摸屏上输入或选择的问题")
    new_session: bool = Field(False, description="true 时忘掉本站点之前的对话（如“重新开始”按钮）")
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [{"message": "工伤认定要多久？"}]})


class KioskCitation(BaseModel):
    n: int
    id: str
    label: str


class KioskOut(BaseModel):
    answer: str
    citations: list[KioskCitation]
    refused: bool
    message_id: str | None
    idle_seconds: int = Field(description="空闲超过该秒数后，下一次提问将开启新对话")

    @classmethod
    def from_answer(cls, a: Answer, idle_seconds: int) -> "KioskOut":
        return cls(
            answer=a.text, citations=[KioskCitation(n=c.n, id=c.passage.id, label=c.passage.label) for c in a.citations],
            refused=a.refused, message_id=a.message_id, idle_seconds=idle_seconds,
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "answer": "社会保险行政部门应自受理之日起 60 日内作出工伤认定决定 [1]。",
                    "citations": [{"n": 1, "id": "gongshang-baoxian-tiaoli:19", "label": "《工伤保险条例》第二十条"}],
                    "refused": False, "message_id": "m-1c2d", "idle_seconds": 60,
                }
            ]
        }
    )


# The export's turns and WeChat messages are the store's own dataclasses, so their fields are written once (in
# bot/store/conversations.py) and the export keeps up with what is stored. The subclasses keep the schemas' names.


class PersonTurn(Turn):
    """One question and answer of a session, as stored."""

    # Turn's defaulted fields (session_id, reason, mode) are always in the export: required in the schema.
    __pydantic_config__ = ConfigDict(json_schema_serialization_defaults_required=True)


class PersonFeedback(BaseModel):
    message_id: str
    rating: str
    comment: str
    created_at: float


class PersonSession(BaseModel):
    session_id: str
    channel: str
    station: str | None
    created_at: float
    updated_at: float
    turns: list[PersonTurn]
    feedback: list[PersonFeedback]
    handoffs: list["HandoffOut"] = Field(default_factory=list, description="转人工请求及工会干部的回复")


class PersonWechatMessage(WechatMessage):
    """One text message received from a WeChat user, and the state of its reply."""


class PersonData(BaseModel):
    """Everything stored about one person (PIPL export)."""

    sessions: list[PersonSession]
    wechat_messages: list[PersonWechatMessage]


class PersonDeleted(BaseModel):
    sessions: int = Field(description="删除的会话数（含其中的问答和评价）")
    wechat_messages: int = Field(description="删除的微信消息数")


class KioskUsage(BaseModel):
    station: str
    day: str
    requests: int
    rate_limited: int


class ErrorOut(BaseModel):
    error: str = Field(description="机器可读的错误码")
    message: str = Field(description="中文说明（括号内为英文）")
    detail: list[dict[str, Any]] | None = None
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"error": "invalid_request", "message": "请求参数有误：top_k：不能大于 50。(Invalid request: top_k: Input should be less than or equal to 50.)"}]}
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": desc}
    for code, desc in [
        (400, "请求体不是合法 JSON"), (404, "找不到"), (413, "请求体过大"), (422, "参数无效"),
        (429, "请求过于频繁，见 Retry-After"), (503, "索引加载中"),
    ]
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses (422 replaces FastAPI's default validation schema)."""
    return {code: ERRORS[code] for code in codes}


# ---------------------------------------------------------------- hand-off


class HandoffIn(_In):
    session_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="聊天返回的 session_id")
    message_id: str | None = Field(None, max_length=32, pattern=r"^[A-Za-z0-9_-]+$", description="引发转人工的那条回答")
    question: str = Field(min_length=1, max_length=1000, description="想请工会干部解答的问题")
    contact: str = Field("", max_length=128, description="联系方式（选填：电话、微信号等）")
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"session_id": "3f2b9c0e6d1a4b7c", "question": "公司三个月没发工资，我该怎么办？",
                                         "contact": "138 0000 0000"}]},
    )


class HandoffReplyOut(BaseModel):
    id: int
    author: str = Field(description="回复的工会干部")
    text: str
    created_at: float


class HandoffOut(BaseModel):
    id: int
    session_id: str
    message_id: str | None = None
    question: str
    contact: str
    status: str = Field(description="open 待处理 | claimed 已认领 | answered 已回复 | closed 已结束")
    claimed_by: str | None = None
    created_at: float
    updated_at: float
    replies: list[HandoffReplyOut]


class HandoffList(BaseModel):
    items: list[HandoffOut]


PersonSession.model_rebuild()
PersonData.model_rebuild()
