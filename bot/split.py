"""Split source files along their real structure: statute articles, newsletter articles and paragraphs.

A file whose body has lines starting with 第X条 is a statute: one passage per article (long articles are cut
by paragraph and keep their number). Anything else is read as a newsletter: articles (column in 【】,
headline, author line, closing source line), paragraphs rejoined across page breaks, then passages of
about passage_min..passage_max characters that never cut a sentence.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from bot.types import Passage, SourceFile
from bot.zh import cn_number, is_province, known_places, places_in, sentences

_NUM = "零〇一二两三四五六七八九十百千0-9"
ARTICLE_RE = re.compile(rf"^(第[{_NUM}]+条)(?:之[一二三四五六七八九十]+)?[\s\u3000]*")
ARTICLE_WHOLE = 2.0  # a statute article stays one passage up to this many times max_chars
CHAPTER_RE = re.compile(rf"^#*\s*(第[{_NUM}]+[编章节])[\s\u3000]*(.*)$")
_COLUMN_RE = re.compile(r"^【([^】]{1,12})】$")
_SOURCE_RE = re.compile(r"^(来源[:：].{1,40}|[（(][^（）()]{2,40}[）)])$")
_PHOTO_RE = re.compile(r"^[\u4e00-\u9fa5·\s]{2,20}\s摄$")
_DATE_RE = re.compile(r"(20\d{2}|19\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_YEAR_RE = re.compile(r"(20[0-4]\d|19[5-9]\d)\s*年")
_REPORTER_RE = re.compile(r"^(本报记者|本报通讯员|记者|通讯员)[\s\u3000]*[\u4e00-\u9fa5\s]{2,12}$")
_NEWS_MARKERS = ("本报讯", "本报记者", "来源：", "来源:", "新华社")


def doc_key(path: str) -> str:
    """Stable short id for a source file (from its path)."""
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:10]


def is_statute(text: str) -> bool:
    """A statute has several lines that start with 第X条."""
    return sum(1 for ln in text.split("\n") if ARTICLE_RE.match(ln.strip())) >= 3


def split(source: SourceFile, min_chars: int = 150, max_chars: int = 450) -> list[Passage]:
    """Passages of one file, in reading order."""
    if is_statute(source.text):
        return split_statute(source, max_chars=max_chars)
    return split_newsletter(source, min_chars=min_chars, max_chars=max_chars)


# ---------------------------------------------------------------- statutes


def statute_title(source: SourceFile) -> str:
    """Short title: the first '# ' heading (or the file name) without 中华人民共和国 and date."""
    for ln in source.text.split("\n"):
        m = re.match(r"^#\s+(.+)$", ln.strip())
        if m:
            return _short_title(m.group(1))
    stem = PurePosixPath(source.path).stem
    return _short_title(re.sub(r"[（(]\d{4}-\d{2}-\d{2}[）)]$", "", stem))


def _short_title(title: str) -> str:
    title = title.strip().strip("《》")
    return title[len("中华人民共和国") :] if title.startswith("中华人民共和国") and len(title) > 9 else title


def _statute_date(source: SourceFile) -> str | None:
    m = re.search(r"\((\d{4}-\d{2}-\d{2})\)", source.path)
    if m:
        return m.group(1)
    dates = [f"{y}-{int(mo):02d}-{int(d):02d}" for y, mo, d in _DATE_RE.findall(source.text[:3000])]
    return max(dates) if dates else None


@dataclass
class _Unit:
    article: str | None
    chapter: str | None
    paragraphs: list[str] = field(default_factory=list)


def split_statute(source: SourceFile, max_chars: int = 450) -> list[Passage]:
    text = source.text
    if "<!-- INFO END -->" in text:  # LawRefBook files: enactment history before the marker
        text = text.split("<!-- INFO END -->", 1)[1]
    title, date, doc_id = statute_title(source), _statute_date(source), doc_key(source.path)
    units: list[_Unit] = []
    chapter: str | None = None
    current: _Unit | None = None
    seen_article = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line == "---":
            continue
        chap = CHAPTER_RE.match(line)
        if chap and len(line) <= 40:
            chapter = f"{chap.group(1)} {chap.group(2)}".strip()
            current = None
            continue
        if ARTICLE_RE.match(line):
            seen_article = True
            current = _Unit(ARTICLE_RE.match(line).group(1), chapter, [line])  # type: ignore[union-attr]
            units.append(current)
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            if seen_article or _short_title(heading) != title:
                chapter = heading
            current = None
            continue
        if seen_article and re.match(r"^附(件|录|表)?[:：]", line):
            chapter, current = line.rstrip("：:"), None
        if current is None:
            current = _Unit(None, chapter if seen_article else "前言", [])
            units.append(current)
        if current.article and current.paragraphs and not _is_sentence_end(current.paragraphs[-1]):
            current.paragraphs[-1] += line  # a line broken inside a sentence ("…延长工作时间的，\n按照不低于…")
        else:
            current.paragraphs.append(line)
    passages: list[Passage] = []
    for unit in units:
        # An article is the citation a worker needs, and its later paragraphs lean on its first ("不执行上述规定"):
        # it stays whole up to ARTICLE_WHOLE x max_chars.
        limit = int(max_chars * ARTICLE_WHOLE) if unit.article else max_chars
        for piece in _pack(unit.paragraphs, limit):
            passages.append(
                Passage(
                    id=f"{doc_id}:{len(passages)}", doc_id=doc_id, text=piece, doc_type="law", title=title,
                    source_file=source.path, position=len(passages), article=unit.article,
                    chapter=unit.chapter, date=date,
                )
            )
    return passages


def _pack(paragraphs: list[str], max_chars: int) -> list[str]:
    """Group consecutive paragraphs into pieces of at most max_chars (a longer paragraph is cut at sentences)."""
    pieces: list[str] = []
    buf: list[str] = []
    for para in paragraphs:
        for part in _cut_long(para, max_chars):
            if buf and sum(len(p) for p in buf) + len(part) > max_chars:
                pieces.append("\n".join(buf))
                buf = []
            buf.append(part)
    if buf:
        pieces.append("\n".join(buf))
    return pieces


def _cut_long(paragraph: str, max_chars: int) -> list[str]:
    """Cut a paragraph into near-equal runs of whole sentences, each at most max_chars where sentences allow."""
    if len(paragraph) <= max_chars:
        return [paragraph]
    sents = sentences(paragraph)
    n = -(-len(paragraph) // max_chars)
    target = len(paragraph) / n
    out, buf = [], ""
    for s in sents:
        if buf and (len(buf) + len(s) > max_chars or len(buf) >= target):
            out.append(buf)
            buf = ""
        buf += s
    if buf:
        out.append(buf)
    return out


# ---------------------------------------------------------------- newsletters


@dataclass
class _Block:
    text: str
    kind: str  # column | title | heading | author | source | photo | date | body


@dataclass
class _Article:
    column: str | None = None
    titles: list[str] = field(default_factory=list)
    author: str | None = None
    source_line: str | None = None
    dates: list[str] = field(default_factory=list)
    sections: list[tuple[str | None, list[str]]] = field(default_factory=list)  # (heading, paragraphs)
    markdown_title: bool = False  # titled by a '# ' line: its '##' lines are sections, not subtitles

    @property
    def has_body(self) -> bool:
        return any(paras for _, paras in self.sections)


def _is_sentence_end(text: str) -> bool:
    """Ends with 。！？；… possibly followed by closing quotes; a headline may end with a bare ”."""
    core = text.rstrip("”’」』）)】 ")
    return not core or core[-1] in "。！？；…：:!?;"


def _classify(text: str) -> _Block:
    if _COLUMN_RE.match(text):
        return _Block(_COLUMN_RE.match(text).group(1), "column")  # type: ignore[union-attr]
    if _SOURCE_RE.match(text):
        return _Block(text, "source")
    if _PHOTO_RE.match(text):
        return _Block(text, "photo")
    if _DATE_RE.fullmatch(re.sub(r"\s*星期.*$", "", text)) or re.fullmatch(r"\d{4}\s*年第.*期.*", text):
        return _Block(text, "date")
    if text.startswith("# "):  # a Markdown level-1 heading always starts an article
        return _Block(text.lstrip("#").strip(), "title")
    if text.startswith("#"):
        return _Block(text.lstrip("#").strip(), "heading")
    if _REPORTER_RE.match(text) or _looks_author(text):
        return _Block(text, "author")
    if _looks_heading(text):
        return _Block(text.lstrip("-·• ").strip(), "heading")
    return _Block(text, "body")


def _looks_heading(text: str) -> bool:
    """Short, no closing mark, at most one comma: a headline; longer unfinished text is a page-break fragment."""
    return len(text) <= 48 and not _is_sentence_end(text) and text[-1] not in "，、," and text.count("，") <= 1


def _looks_author(text: str) -> bool:
    """'淮安市总工会 戴树云', '扬州市…工会干部 张仙', '严璐': an organisation and/or a 2-3 character name."""
    if len(text) > 80 or _is_sentence_end(text):
        return False
    if re.fullmatch(r"[\u4e00-\u9fa5]{2,3}", text):
        return True
    m = re.fullmatch(r"(.{4,70}?)[\s\u3000]+([\u4e00-\u9fa5]{2,3})", text)
    return bool(m and re.search(r"(工会|公司|集团|部|办|局|中心|委)", m.group(1)))


_LIST_LINE = re.compile(r"^\s*(?:[-·•]|[0-9]+[.、．]|[一二三四五六七八九十]+、)")
_DISTRIBUTION = re.compile(r"^\s*(?:报|送|抄送|抄报|分送|主送|发)[：:]")
DISTRIBUTION_LINE_CHARS = 60  # a line of a distribution list ("新时代……联席会议召集人、副召集人。")


def _without_contents_and_distribution(parts: list[str]) -> list[str]:
    """The blank-line separated parts of a newsletter without its table of contents and its distribution
    list. A "目录" line and the list parts after it repeat the headlines, and once joined into one run of text
    they would open the first article ("- 江阴市祝塘镇……- 1. 高邮市……作为江阴市首批产改试点乡镇……"). The
    distribution list of an official bulletin (版记: "报：……办公室。", "送：……") names recipients, not work."""
    kept: list[str] = []
    contents = distribution = False
    for part in parts:
        if re.sub(r"\s+", "", part) in ("目录", "目次"):
            contents = True
            continue
        if contents and _LIST_LINE.match(part.strip().splitlines()[0]):
            continue
        contents = False
        if _DISTRIBUTION.match(part) or (distribution and len(part.strip()) <= DISTRIBUTION_LINE_CHARS):
            distribution = True
            continue
        distribution = False
        kept.append(part)
    return kept


def _blocks(text: str) -> list[_Block]:
    """Blank-line separated blocks (table of contents and distribution list left out), with paragraphs broken across page breaks
    joined again."""
    parts = _without_contents_and_distribution([b for b in re.split(r"\n\s*\n", text) if b.strip()])
    raw = [re.sub(r"\s*\n\s*", "", b).strip() for b in parts]
    raw = [b for b in raw if b]
    blocks: list[_Block] = []
    for text_ in raw:
        block = _classify(text_)
        prev = blocks[-1] if blocks else None
        # A body paragraph cut mid-sentence continues in the next block, even when that block was
        # mis-marked as a heading by the page break.
        if prev and prev.kind == "body" and not _is_sentence_end(prev.text) and block.kind in {"body", "heading"}:
            prev.text += block.text
            continue
        blocks.append(block)
    return blocks


def _articles(blocks: list[_Block]) -> list[_Article]:
    articles: list[_Article] = []
    art = _Article()
    ended = False  # the current article has had its closing line (source, 小编说, photo credit)

    def start() -> _Article:
        nonlocal art, ended
        if art.has_body:  # a column line or headline without body yet belongs to the coming article
            articles.append(art)
            art = _Article()
        ended = False
        return art

    for i, b in enumerate(blocks):
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if b.kind == "column":
            if not art.has_body:
                # A headline and byline printed after their article's text, before the next column
                # ("……小编说：…", "以『三个坚持』推动产改迈向纵深", "宜兴市总工会党组书记 邱远迅", "【他山之石】"): never
                # the next article's (its report from 河北 was labelled 宜兴). Moving them to the article before
                # (titled by its column, 主席之声) lost three officer questions on the odd rows of dev2, so they go.
                art.titles, art.author = [], None
            start().column = b.text
        elif b.kind == "title":
            if art.has_body or art.titles:
                column = art.column if not art.has_body else None
                if art.has_body:
                    start()
                else:  # a headline run: keep collecting the title lines
                    pass
                art.column = art.column or column
            art.titles.append(b.text)
            art.markdown_title = True
        elif b.kind == "heading":
            new_article = (
                ended
                or (nxt is not None and nxt.kind in {"author", "heading", "title", "date"} and art.has_body)
                or (nxt is not None and nxt.kind == "body" and nxt.text.startswith("本报讯") and art.has_body)
            )
            if new_article:
                start()
            if not art.has_body and art.titles and art.dates and not art.author:
                # Headlines, then a date line, then another headline before any text: the first ones were
                # the masthead ("……联席会 专 报", "2024 年第 8 期"), not this article's title.
                art.titles.clear()
            if not art.has_body and not art.markdown_title and (not art.sections or art.sections[-1][0] is None):
                art.titles.append(b.text)
            else:
                art.sections.append((b.text, []))
        elif b.kind == "author":
            art.author = art.author or b.text
        elif b.kind == "date":
            art.dates.append(b.text)
        elif b.kind in {"source", "photo"}:
            if b.kind == "source":
                art.source_line = b.text
            ended = True
        else:
            if ended and art.has_body:
                start()
            if not art.sections:
                art.sections.append((None, []))
            art.sections[-1][1].append(b.text)
            if b.text.startswith("小编说"):
                ended = True
    if art.has_body or art.titles:
        articles.append(art)
    return [a for a in articles if a.has_body]


def _org(art: _Article, body: str) -> str | None:
    if art.author and not _REPORTER_RE.match(art.author):
        m = re.fullmatch(r"(.{4,70}?)[\s\u3000]+[\u4e00-\u9fa5]{2,3}", art.author)
        if m:
            return m.group(1).strip()
    if art.source_line:
        inner = re.sub(r"^来源[:：]|[（()）《》]|作者单位[:：]", "", art.source_line).strip()
        if inner:
            return inner
    lead = re.match(r"^([\u4e00-\u9fa5]{2,10})[：:]", art.titles[0]) if art.titles else None
    if lead:  # "江苏交控： 打破成长天花板…": the report is about the organisation before the colon
        return lead.group(1)
    m = _org_re().search(" ".join(art.titles) + body[:300])
    return m.group(0) if m else None


@lru_cache(maxsize=1)
def _org_re() -> re.Pattern[str]:
    """An organisation named from a known place up to 总工会/工会/集团: 江苏省南京市雨花台区总工会."""
    names = "|".join(re.escape(n) for n in known_places())
    return re.compile(rf"(?:{names})[\u4e00-\u9fa5]{{0,10}}?(?:总工会|工会|集团)")


def _region(art: _Article, org: str | None, body: str) -> str | None:
    """Where the reported work happened: the place of the reporting organisation, else the first place of the
    headline, else the place the body names most often (not the first one named: a report from 扬州 may
    mention 淮安 in passing)."""
    for text in (org or "", " ".join(art.titles) + " " + (art.author or "")):
        found = places_in(text)
        if found:  # "浙江省宁波市北仑区总工会": the city, not the province (a 宁波 filter must find it)
            return next((p for p in found if not is_province(p)), found[0])
    counts = {p: body.count(p) for p in places_in(body)}
    return max(counts, key=lambda p: counts[p]) if counts else None


def _date(art: _Article, body: str, file_date: str | None) -> str | None:
    for d in art.dates:
        m = _DATE_RE.search(d)
        if m:
            return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"
    if file_date:
        return file_date
    years = [int(y) for y in _YEAR_RE.findall(body) if int(y) <= 2030]
    return str(max(years)) if years else None


def split_newsletter(source: SourceFile, min_chars: int = 150, max_chars: int = 450) -> list[Passage]:
    blocks = _blocks(source.text)
    # A file-wide date only from a masthead: date lines before any author line or body paragraph.
    head = blocks[: next((i for i, b in enumerate(blocks) if b.kind in {"author", "body"}), len(blocks))]
    head_dates = [b.text for b in head if b.kind == "date" and _DATE_RE.search(b.text)]
    file_date = None
    if head_dates:
        m = _DATE_RE.search(head_dates[0])
        file_date = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else None
    key = doc_key(source.path)
    passages: list[Passage] = []
    for n, art in enumerate(_articles(blocks)):
        body = "\n".join(p for _, paras in art.sections for p in paras)
        title = "：".join(art.titles[:2]) if art.titles else (art.column or PurePosixPath(source.path).stem)
        is_news = any(mk in body[:200] or mk in (art.source_line or "") for mk in _NEWS_MARKERS) or art.column == "他山之石"
        places = places_in(" ".join(art.titles) + " " + (art.author or "") + " " + body)
        org = _org(art, body)
        doc_id = f"{key}-{n:02d}"
        common = dict(
            doc_id=doc_id, doc_type="news" if is_news else "case", title=title, source_file=source.path,
            column=art.column, org=org, region=_region(art, org, body),
            regions=tuple(places[:12]), date=_date(art, body, file_date),
        )
        pos = 0
        for heading, paras in art.sections:
            for piece in _group(paras, min_chars, max_chars):
                passages.append(Passage(id=f"{doc_id}:{pos}", text=piece, position=pos, chapter=heading, **common))  # type: ignore[arg-type]
                pos += 1
    return passages


def _group(paragraphs: list[str], min_chars: int, max_chars: int) -> list[str]:
    """Paragraph-sized pieces: long paragraphs cut at sentences, short ones joined with a neighbour."""
    parts = [p for para in paragraphs for p in _cut_long(para, max_chars)]
    out: list[str] = []
    for part in parts:
        if out and (len(out[-1]) < min_chars or len(part) < min_chars // 2) and len(out[-1]) + len(part) <= max_chars:
            out[-1] += "\n" + part
        else:
            out.append(part)
    return out


def article_number(article: str | None) -> int | None:
    """第八十二条 -> 82."""
    m = re.match(r"第(.+)条", article or "")
    return cn_number(m.group(1)) if m else None
