"""Assistant: wires the stages together; the one object the CLI and the HTTP API talk to."""

from __future__ import annotations

import logging
from collections import Counter
from functools import cached_property
from typing import Any

from bot.answer import compose, next_steps
from bot.asks import form_stated
from bot.config import Settings
from bot.embed import Embedder, make_embedder
from bot.errors import DocumentNotFound, InvalidQuery
from bot.followup import resolve
from bot.index import Index, load_index
from bot.injection import strip_injection
from bot.llm import LLM
from bot.prompts import load_prompts
from bot.questions import curated
from bot.refusal import KnownWords, has_evidence, out_of_domain, refusal_text, thresholds_for
from bot.retrieve import HybridRetriever
from bot.store import Store, Turn, open_store
from bot.types import Answer, Filters, Hit, Passage
from bot.zh import lay_legal_table

logger = logging.getLogger(__name__)

ANSWER_POOL = 8  # passages an answer may quote from (only the quoted ones are cited)


class Assistant:
    """Search, documents in context, and answers over one loaded index."""

    def __init__(self, settings: Settings, index: Index, embedder: Embedder, store: Store | None = None) -> None:
        """`store` is the conversation store to keep turns in; without one the settings' store is opened
        (and closed by close())."""
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.retriever = HybridRetriever(index=index, embedder=embedder, settings=settings)
        # Prompts are checked now, not on the first request.
        self.prompts = load_prompts(settings.prompts_dir)
        self._owns_store = store is None
        self.store = open_store(settings) if store is None else store
        self.llm = LLM(settings, self.prompts) if settings.llm_enabled else None

    @classmethod
    def from_settings(cls, settings: Settings, store: Store | None = None) -> "Assistant":
        """Load the index once (raises IndexNotFound / IndexMismatch with what to run)."""
        embedder = make_embedder(settings)
        return cls(settings, load_index(settings.index_dir, embedder, settings), embedder, store)

    @cached_property
    def known_words(self) -> KnownWords:
        """Every text of the knowledge base (passages, titles, lay questions) and workers' words we know the
        legal wording of (bot/data: lay_legal.tsv, the curated lay questions), for the refusal check."""
        texts = [f"{p.title}\n{p.text}" for p in self.index.passages] + [q.text for q in self.index.questions]
        texts += [lay for lay, _ in lay_legal_table()]
        texts += [q for table in curated().values() for qs in table.values() for q in qs]
        return KnownWords(texts)

    def close(self) -> None:
        """Release the conversation store if this assistant opened it."""
        if self._owns_store:
            self.store.close()

    # ------------------------------------------------------------------ search

    def check_query(self, query: str) -> str:
        """Strip the query; raise InvalidQuery when empty or longer than max_query_chars."""
        q = (query or "").strip()
        if not q:
            raise InvalidQuery("问题不能为空，请输入您想了解的内容。(The query is empty.)")
        if len(q) > self.settings.max_query_chars:
            raise InvalidQuery(
                f"问题太长了（{len(q)} 字），请控制在 {self.settings.max_query_chars} 字以内。"
                f"(The query is {len(q)} characters; the limit is {self.settings.max_query_chars}.)"
            )
        return q

    def search(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[Hit]:
        """Hybrid search: best passages first, optionally filtered by metadata."""
        q = self.check_query(query)
        return self.retriever.search(q, k=top_k or self.settings.top_k, filters=filters or Filters())

    def facets(self, query: str, filters: Filters | None = None) -> dict[str, dict[str, int]]:
        """Counts by region, doc_type and year over the passages that contain a query term and pass the filters."""
        q = self.check_query(query)
        out: dict[str, Counter[str]] = {"region": Counter(), "doc_type": Counter(), "year": Counter()}
        for p in self.retriever.matching(q, filters or Filters()):
            if p.region:
                out["region"][p.region] += 1
            out["doc_type"][p.doc_type] += 1
            if p.year:
                out["year"][str(p.year)] += 1
        return {k: dict(v.most_common()) for k, v in out.items()}

    # --------------------------------------------------------------- documents

    def passage(self, passage_id: str) -> Passage:
        try:
            return self.index.passages[self.index.row_of[passage_id]]
        except KeyError:
            raise DocumentNotFound(f"找不到段落 {passage_id}。(No passage with id {passage_id!r}.)") from None

    def document(self, doc_id: str) -> list[Passage]:
        """All passages of one statute or newsletter article, in order (doc_id or a passage id)."""
        doc_id = doc_id.split(":", 1)[0]
        rows = self.index.rows_of_doc.get(doc_id)
        if not rows:
            raise DocumentNotFound(f"找不到文档 {doc_id}。(No document with id {doc_id!r}.)")
        return [self.index.passages[r] for r in rows]

    def similar(self, passage_id: str, k: int = 5) -> list[Hit]:
        """Passages from other documents most like this one (dense similarity)."""
        return self.retriever.similar(self.passage(passage_id), k=k)

    def stats(self) -> dict[str, Any]:
        """Index facts for /healthz and the CLI."""
        return self.index.stats()

    # ----------------------------------------------------------------- answers

    def ask(self, question: str, session_id: str | None = None, short: bool = False, channel: str = "chat",
            station: str | None = None) -> Answer:
        """Answer from retrieved passages with numbered citations, or refuse kindly; the turn is kept in the store.

        short=True gives the kiosk form (about kiosk_answer_chars instead of answer_chars); channel (chat, kiosk,
        wechat, cli) and station label a new session for review.
        """
        q = self.check_query(question)
        sid = self.store.session(session_id, channel=channel, station=station)
        history = self.store.history(sid, self.settings.history_turns)
        answer = self._answer(q, history, short)
        answer.session_id = sid
        answer.message_id = self.store.add_turn(sid, q, answer)
        return answer

    def _answer(self, question: str, history: list[Turn], short: bool) -> Answer:
        cleaned, injected = strip_injection(question)
        if injected:
            logger.info("ignored instructions inside a question")
        if not cleaned:
            return self._refuse("invalid", question)
        resolved = resolve(cleaned, history, self.llm.condense if self.llm else None)
        if out_of_domain(resolved):
            return self._refuse("out_of_domain", resolved)
        legal = self.llm.rewrite(resolved) if self.llm else None  # the original stays in the fusion
        # The fused order, not the reranked one: compose() scores sentences itself (bot/rerank.py says why).
        hits = self.retriever.search(resolved, k=max(self.settings.top_k, ANSWER_POOL), alternates=[legal] if legal else [],
                                     reranked=False)
        if not has_evidence(resolved, hits, thresholds_for(self.embedder.calibration), self.known_words):
            return self._refuse("no_evidence", resolved)
        if not form_stated(resolved, hits):
            return self._refuse("no_detail", resolved)
        max_chars = self.settings.kiosk_answer_chars if short else self.settings.answer_chars
        top = hits[: self.settings.top_k]
        result, mode = (self.llm.answer(resolved, top, max_chars), "llm") if self.llm else (None, "extractive")
        if result is None:
            result, mode = compose(resolved, hits, max_chars), "extractive"
        text, citations = result
        if not text:
            return self._refuse("no_evidence", resolved)
        return Answer(text=text, citations=citations, question=resolved, mode=mode, next_steps=next_steps(resolved))

    def _refuse(self, reason: str, question: str) -> Answer:
        return Answer(text=refusal_text(self.prompts, reason), refused=True, reason=reason, question=question)
