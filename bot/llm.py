"""LLM answers through any OpenAI-compatible server (langchain-openai), with citation checks and fallbacks.

The model sees only numbered passages. Citations to numbers that were not given are removed; an answer
without a valid citation, a leaked prompt, a timeout or a server error returns None, and the caller falls
back to the extractive answer (logged, never shown to the user). A reply that is the prompt's no-answer
sentence (NO_ANSWER, rule 3 of prompt_templates/system.md) is the model judging that the passages do not
answer the question: answer() returns ("", []) and the assistant refuses.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import httpx
import openai

from bot.config import Settings
from bot.errors import BackendError
from bot.prompts import Prompts
from bot.injection import is_injection
from bot.store import Turn
from bot.types import Citation, Hit, Passage
from bot.zh import sentences

logger = logging.getLogger(__name__)

# [1] [1,2] [1、3] 【2】 ［3］ — any bracketed run of citation numbers.
_MARKER = re.compile(r"[\[【［]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】］]")
_LLM_ERRORS = (openai.OpenAIError, httpx.HTTPError, ValueError)
NO_ANSWER = "资料中没有找到答案"  # what system.md tells the model to reply when the passages do not answer
MIN_LEAK_CHARS = 12  # a system-prompt line this long appearing in a reply counts as a leak
MAX_GENERATED_CHARS = 120  # a longer "question" line is the model rambling, not a question
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•·]|\d+[.、．)）]|[（(]\d+[)）]|问题?\s*\d*[:：])\s*")


def format_context(hits: Sequence[Hit]) -> str:
    """Numbered passages for the prompt: '[n] label（date）' then the text, injected instructions removed."""
    blocks = []
    for n, h in enumerate(hits, start=1):
        p = h.passage
        head = f"[{n}] {p.label}" + (f"（{p.date}）" if p.date and p.doc_type == "law" else "")
        text = "".join(s for s in sentences(p.text) if not is_injection(s))
        blocks.append(f"{head}\n{text}")
    return "\n\n".join(blocks)


def validate_citations(text: str, n_given: int) -> tuple[str, list[int]]:
    """Drop markers citing numbers outside 1..n_given; returns the cleaned text and valid numbers in order."""
    used: list[int] = []

    def keep(m: re.Match[str]) -> str:
        nums = [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1))]
        valid = [n for n in nums if 1 <= n <= n_given]
        used.extend(n for n in valid if n not in used)
        return "".join(f"[{n}]" for n in valid)

    return _MARKER.sub(keep, text).strip(), used


def renumber(text: str, used: list[int]) -> str:
    """Renumber valid markers 1..m in order of first appearance (used[i] -> i+1)."""
    new = {old: i for i, old in enumerate(used, start=1)}
    return re.sub(r"\[(\d+)\]", lambda m: f"[{new[int(m.group(1))]}]", text)


def leaks_prompt(reply: str, system: str) -> bool:
    """True when the reply repeats any MIN_LEAK_CHARS-long stretch of a system-prompt line."""
    flat = re.sub(r"\s+", "", reply)
    for line in (re.sub(r"\s+", "", ln) for ln in system.splitlines()):
        for i in range(0, max(len(line) - MIN_LEAK_CHARS + 1, 0), 3):
            if line[i : i + MIN_LEAK_CHARS] in flat:
                return True
    return False


_TEMPLATE_TOKENS = ("<<SYS>>", "<</SYS>>", "[INST]", "<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>")


def echoes_context(reply: str, hits: Sequence[Hit]) -> bool:
    """True when the reply copies the prompt's scaffolding (chat-template tokens or '[n] label' block headers)
    instead of answering: small models do this, and the markers would then pass citation validation."""
    if any(tok in reply for tok in _TEMPLATE_TOKENS):
        return True
    flat = re.sub(r"\s+", "", reply)
    return any(re.sub(r"\s+", "", f"[{n}]{h.passage.label}") in flat for n, h in enumerate(hits, start=1))


class LLM:
    """A chat model behind an OpenAI-compatible endpoint."""

    def __init__(self, settings: Settings, prompts: Prompts) -> None:
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as e:  # pragma: no cover - a declared dependency
            raise BackendError("LLM 模式需要 langchain-openai。(pip install langchain-openai)") from e
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        self._key = key if settings.llm_api_key else ""  # masked in logged errors (some servers echo the key)
        self.prompts = prompts
        self.max_chars = settings.answer_chars
        self.chat = ChatOpenAI(
            base_url=settings.llm_base_url,
            model=settings.llm_model or "",
            api_key=key,  # type: ignore[arg-type]
            timeout=settings.llm_timeout,
            max_retries=0,  # a slow server falls back to the extractive answer instead of waiting again
            temperature=0,
            # Sent as plain `max_tokens`: llama.cpp, vLLM and Ollama ignore `max_completion_tokens`, which
            # langchain-openai would send, and a small model then writes until its context is full.
            extra_body={"max_tokens": settings.llm_max_tokens},
        )

    def complete(self, system: str, user: str) -> str | None:
        """The model's reply, or None on timeout / connection / server error (logged)."""
        from langchain_core.messages import HumanMessage, SystemMessage

        try:
            reply = self.chat.invoke([SystemMessage(system), HumanMessage(user)])
        except _LLM_ERRORS as e:
            text = str(e).replace(self._key, "***") if self._key else str(e)
            logger.warning("LLM call failed, falling back: %s: %s", type(e).__name__, text)
            return None
        content = reply.content if isinstance(reply.content, str) else str(reply.content)
        return content.strip() or None

    def answer(self, question: str, hits: Sequence[Hit], max_chars: int | None = None) -> tuple[str, list[Citation]] | None:
        """A cited answer over the numbered hits; ("", []) when the model finds no answer in them (the caller
        refuses); None when the caller should answer extractively."""
        system = self.prompts.render("system", max_chars=max_chars or self.max_chars)
        user = self.prompts.render("answer", context=format_context(hits), question=question)
        reply = self.complete(system, user)
        if reply is None:
            return None
        if leaks_prompt(reply, system):
            logger.warning("LLM reply repeated the system prompt; falling back")
            return None
        if echoes_context(reply, hits):
            logger.warning("LLM reply copied the prompt's passages or template; falling back")
            return None
        text, used = validate_citations(reply, len(hits))
        if not used and NO_ANSWER in re.sub(r"\s", "", reply):
            logger.info("LLM found no answer in the passages; refusing")
            return "", []
        if not used:
            logger.info("LLM reply had no valid citation; falling back")
            return None
        citations = [Citation(n=i, passage=hits[old - 1].passage, score=hits[old - 1].score)
                     for i, old in enumerate(used, start=1)]
        return renumber(text, used), citations

    def questions(self, passage: Passage, n: int = 3) -> list[str] | None:
        """Up to n lay questions that the passage answers (for question windows), or None when the model fails."""
        user = self.prompts.render("questions", n=n, title=passage.label, text=passage.text)
        reply = self.complete(self.prompts.render("system", max_chars=self.max_chars), user)
        if reply is None:
            return None
        out: list[str] = []
        for line in reply.splitlines():
            q = _LIST_PREFIX.sub("", line).strip(" “”\"'")
            if 4 <= len(q) <= MAX_GENERATED_CHARS and not is_injection(q) and q not in out:
                out.append(q)
        return out[:n]

    def rewrite(self, question: str) -> str | None:
        """The question in legal wording, for retrieval beside the original; None when the model fails."""
        reply = self.complete(self.prompts.render("system", max_chars=self.max_chars),
                              self.prompts.render("rewrite", question=question))
        if not reply:
            return None
        first = re.sub(r"^(【?改写】?[:：]?)", "", reply.strip().splitlines()[0]).strip(" “”\"'")
        if not 2 <= len(first) <= 300 or is_injection(first) or first == question:
            return None
        return first

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        """A standalone rewrite of a follow-up question, or None when the model fails or misbehaves."""
        lines = []
        for t in history:
            lines.append(f"职工：{t.question}")
            answer = re.sub(r"\[\d+\]", "", t.answer)[:150]
            lines.append(f"助手：{answer}")
        user = self.prompts.render("condense", history="\n".join(lines), question=question)
        reply = self.complete(self.prompts.render("system", max_chars=self.max_chars), user)
        if not reply:
            return None
        first = re.sub(r"^(【?完整问题】?[:：]?)", "", reply.strip().splitlines()[0]).strip(" “”\"'")
        if not 2 <= len(first) <= 200 or is_injection(first):
            return None
        return first
