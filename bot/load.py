"""Read the documents folder: text, Markdown, Word, PDF and HTML files, in UTF-8 or GB18030/GBK."""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from bot.types import SourceFile
from bot.zh import normalize

logger = logging.getLogger(__name__)

SUFFIXES = {".txt", ".md", ".markdown", ".docx", ".pdf", ".html", ".htm"}
SKIPPED_NAMES = {"readme.md", "sources.md", "license", "license.md"}  # folder notes, not knowledge
MAX_FILE_BYTES = 50 * 1024 * 1024


class UnreadableFile(Exception):
    """A file that cannot be turned into text; the message says why, in Chinese, for the summary."""


@dataclass
class LoadReport:
    """Files read, and the ones skipped with the reason."""

    files: list[SourceFile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    ignored: list[str] = field(default_factory=list)  # other suffixes, folder notes


def load_documents(folder: Path) -> LoadReport:
    """Read every supported file below folder; a file that cannot be read is reported and skipped."""
    if not folder.is_dir():
        raise FileNotFoundError(f"文档目录不存在: {folder} (documents folder not found)")
    report = LoadReport()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if path.suffix.lower() not in SUFFIXES or path.name.lower() in SKIPPED_NAMES:
            report.ignored.append(rel)
            continue
        try:
            report.files.append(read_file(path, rel))
        except UnreadableFile as e:
            logger.warning("skipped %s: %s", rel, e)
            report.errors.append((rel, str(e)))
    return report


def read_file(path: Path, rel: str | None = None) -> SourceFile:
    """Decode one file to normalised text; raises UnreadableFile with the reason."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UnreadableFile(f"无法读取文件: {e.strerror}") from e
    if len(raw) > MAX_FILE_BYTES:
        raise UnreadableFile(f"文件过大 ({len(raw) // 1024 // 1024} MB)，上限 {MAX_FILE_BYTES // 1024 // 1024} MB")
    suffix = path.suffix.lower()
    if suffix == ".docx":
        text, enc = _docx_text(raw), "docx"
    elif suffix == ".pdf":
        text, enc = _pdf_text(raw), "pdf"
    else:
        text, enc = decode(raw)
        if suffix in {".html", ".htm"}:
            text = html_text(text)
        elif suffix in {".md", ".markdown"}:
            text = _strip_front_matter(text)
    text = normalize(text).strip()
    if not text:
        raise UnreadableFile("文件为空或没有可提取的文字")
    return SourceFile(path=rel or path.name, text=text + "\n", sha256=hashlib.sha256(raw).hexdigest(), encoding=enc)


def decode(raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312); binary data is refused."""
    if not raw.strip():
        raise UnreadableFile("文件为空")
    if b"\x00" in raw[:4096]:
        raise UnreadableFile("不是文本文件（含二进制内容），请确认文件格式")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError as e:
        raise UnreadableFile("无法识别文件编码（支持 UTF-8 和 GBK/GB18030），请另存为 UTF-8") from e
    if _looks_binary(text):
        raise UnreadableFile("不是文本文件（含二进制内容），请确认文件格式")
    return text, "gb18030"


def _looks_binary(text: str) -> bool:
    """Random bytes often decode as GB18030; real text is mostly CJK, ASCII and punctuation."""
    sample = text[:4000]
    if not sample:
        return False
    odd = sum(1 for ch in sample if ch < " " and ch not in "\n\r\t" or "\ue000" <= ch <= "\uf8ff")
    rare = sum(1 for ch in sample if "\u3400" <= ch <= "\u4dbf" or ord(ch) > 0xFFFF)
    return (odd + rare) / len(sample) > 0.05


def _strip_front_matter(text: str) -> str:
    return re.sub(r"\A\ufeff?---\n.*?\n---\n", "", text, count=1, flags=re.S)


def _docx_text(raw: bytes) -> str:
    try:
        import docx
    except ImportError as e:  # pragma: no cover - a core dependency
        raise UnreadableFile("需要 python-docx 才能读取 .docx 文件") from e
    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as e:  # python-docx raises several types for broken zips
        raise UnreadableFile(f"无法打开 Word 文件（{type(e).__name__}），文件可能已损坏") from e
    paras = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            paras.append(" | ".join(c.text for c in row.cells))
    return "\n\n".join(paras)


def _pdf_text(raw: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("PDF 已加密，无法读取")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise UnreadableFile(f"无法解析 PDF（{type(e).__name__}），文件可能已损坏") from e
    text = "\n\n".join(pages)
    if not text.strip():
        raise UnreadableFile("PDF 中没有可提取的文字（可能是扫描件，需先做文字识别）")
    return text


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "noscript"}:
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "noscript"}:
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """Visible text of an HTML page, blocks separated by blank lines."""
    parser = _TextExtractor()
    parser.feed(html)
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text)
