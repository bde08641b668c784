"""Read the documents folder: text, Markdown, Word, PDF and HTML files, in UTF-8, GB18030/GBK or Big5.

A bad file never stops a build: it is skipped and reported with the reason, in Chinese (LoadReport.errors).

- Size: a file above max_bytes (UNIONBOT_MAX_DOCUMENT_BYTES, 20 MB) is refused from its size on disk without
  being opened, and no more than that size is ever read. A union knowledge base (statutes, guides,
  newsletters; the largest statute is 60 KB) has no 20 MB text: such a file is a dump or a mistake, so it is
  refused rather than streamed; raise the setting to index it anyway.
- Memory: reading one text file peaks at 4 times its size (the raw bytes, and Python's decoder buffer sized
  by the byte count), up to 6 times with characters beyond U+FFFF such as emoji; so at most 6 x max_bytes
  (120 MB by default) beyond the texts returned. A refused file is never opened and costs nothing
  (tests/test_bad_documents.py measures both with a 50 MB file).
- Word: the sizes in the zip's central directory are checked before anything is decompressed (total at most
  max_unzipped_bytes, 100 MB), then the bytes actually decompressed are counted and capped: a zip bomb is
  refused. PDF: encrypted files and files without a text layer (scans) are refused with that reason.
- Symbolic links are never followed (one may point outside the folder, or loop); each is reported.
- Files with the same text (after decoding) are indexed once, under the shortest name; the others are reported.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

from bot.config import MAX_DOCUMENT_BYTES, MAX_UNZIPPED_BYTES
from bot.types import SourceFile
from bot.zh import data_lines, normalize

logger = logging.getLogger(__name__)

SUFFIXES = {".txt", ".md", ".markdown", ".docx", ".pdf", ".html", ".htm"}
SKIPPED_NAMES = {"readme.md", "sources.md", "license", "license.md"}  # folder notes, not knowledge
CJK_ENCODINGS = (("gb18030", "gb18030"), ("cp950", "big5"), ("big5hkscs", "big5hkscs"))  # (codec, label)


class UnreadableFile(Exception):
    """A file that cannot be turned into text; the message says why, in Chinese, for the summary."""


@dataclass
class LoadReport:
    """Files read, and the ones skipped with the reason."""

    files: list[SourceFile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    ignored: list[str] = field(default_factory=list)  # other suffixes, folder notes


def load_documents(folder: Path, max_bytes: int = MAX_DOCUMENT_BYTES,
                   max_unzipped_bytes: int = MAX_UNZIPPED_BYTES) -> LoadReport:
    """Read every supported file below folder; a file that cannot be read is reported and skipped."""
    if not folder.is_dir():
        raise FileNotFoundError(f"文档目录不存在: {folder} (documents folder not found)")
    report = LoadReport()
    read: list[tuple[SourceFile, bytes]] = []  # with the hash of the text
    for path, rel, problem in _walk(folder):
        if problem:
            report.errors.append((rel, problem))
        elif path.suffix.lower() not in SUFFIXES or path.name.lower() in SKIPPED_NAMES:
            report.ignored.append(rel)
        else:
            try:
                f = read_file(path, rel, max_bytes, max_unzipped_bytes)
                read.append((f, _text_key(f.text)))
            except UnreadableFile as e:
                report.errors.append((rel, str(e)))
            except Exception as e:  # noqa: BLE001 - a parser's unexpected failure must not stop the build
                logger.warning("unexpected error reading %s", rel, exc_info=True)
                report.errors.append((rel, f"读取时出错（{type(e).__name__}），已跳过"))
    kept: dict[bytes, str] = {}
    for f, key in sorted(read, key=lambda fk: (len(fk[0].path), fk[0].path)):  # the shortest name is kept
        kept.setdefault(key, f.path)
    for f, key in read:
        if kept[key] == f.path:
            report.files.append(f)
        else:
            report.errors.append((f.path, f"与「{kept[key]}」内容相同，重复的文件只索引一次"))
    report.errors.sort()
    for rel, reason in report.errors:
        logger.warning("skipped %s: %s", rel, reason)
    return report


def _walk(folder: Path) -> Iterator[tuple[Path, str, str | None]]:
    """(path, relative path, problem) of each non-hidden entry below folder, sorted; symbolic links and
    special files come with the reason they are not read, folders that cannot be listed too."""
    root = folder.resolve()
    found: list[tuple[Path, str | None]] = []

    def unlistable(e: OSError) -> None:
        found.append((Path(e.filename or folder), f"无法读取文件夹: {e.strerror}"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlistable):  # never follows links
        base = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in dirnames + filenames:
            path = base / name
            if name.startswith("."):
                continue
            if path.is_symlink():
                found.append((path, _link_problem(path, root)))
            elif name in filenames:
                try:
                    regular = stat.S_ISREG(path.stat().st_mode)
                except OSError as e:
                    found.append((path, f"无法读取文件: {e.strerror}"))
                    continue
                found.append((path, None if regular else "不是普通文件（设备、管道等），未读取"))
    for path, problem in sorted(found, key=lambda pp: pp[0]):
        rel = path.relative_to(folder).as_posix() if path != folder else "."
        yield path, rel, problem


def _link_problem(path: Path, root: Path) -> str:
    """Why a symbolic link is not read: it is never followed, wherever it points."""
    try:
        target = Path(os.path.realpath(path, strict=True))
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "符号链接形成循环，未读取"
        return "符号链接指向的文件不存在，未读取"
    if not target.is_relative_to(root):
        return "符号链接指向文档目录之外，为安全起见不跟随，未读取"
    inside = target.relative_to(root).as_posix()
    if target.is_dir():
        where = f"文件夹「{inside}」" if inside != "." else "文档目录本身"
        return f"符号链接指向{where}，不跟随（以免重复或循环读取），其中的文件按原位置读取"
    return f"符号链接指向「{inside}」，不跟随，该文件按原位置读取"


def _text_key(text: str) -> bytes:
    """Hash of a decoded text, in slices so a large text is never encoded whole."""
    h = hashlib.sha256()
    for start in range(0, len(text), 1 << 20):
        h.update(text[start : start + (1 << 20)].encode("utf-8", errors="surrogatepass"))
    return h.digest()


def read_file(path: Path, rel: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES,
              max_unzipped_bytes: int = MAX_UNZIPPED_BYTES) -> SourceFile:
    """Decode one file to normalised text; raises UnreadableFile with the reason."""
    raw = _read_capped(path, max_bytes)
    sha256 = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    if not raw:
        raise UnreadableFile("文件为空")
    if suffix == ".docx":
        text, enc = _docx_text(raw, max_unzipped_bytes), "docx"
    elif suffix == ".pdf":
        text, enc = _pdf_text(raw), "pdf"
    else:
        text, enc = decode(raw)
        del raw  # the decoded text is all that is needed from here on
        if suffix in {".html", ".htm"}:
            text = html_text(text)
        elif suffix in {".md", ".markdown"}:
            text = _strip_front_matter(text)
    text = normalize(text).strip()
    if not text:
        raise UnreadableFile("文件为空或没有可提取的文字")
    return SourceFile(path=rel or path.name, text=text + "\n", sha256=sha256, encoding=enc)


def _mb(n: int) -> str:
    mb = n / 1024 / 1024
    return f"{mb:.0f} MB" if mb >= 10 else f"{mb:.1f}".removesuffix(".0") + " MB"


def _read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; a file above max_bytes is refused from its size on disk, and no more than its size
    (so never more than max_bytes) is read."""
    too_big = "文件过大（{size}，上限 {limit}），未读取；这么大的文件多半是导出的数据或放错的文件，" \
              "确需索引请调高 UNIONBOT_MAX_DOCUMENT_BYTES"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise UnreadableFile(too_big.format(size=_mb(size), limit=_mb(max_bytes)))
        with path.open("rb") as f:
            raw = f.read(size + 1)  # read() allocates what it is asked for: the size, not the limit
    except OSError as e:
        raise UnreadableFile(f"无法读取文件: {e.strerror}") from e
    if len(raw) > size:
        raise UnreadableFile("文件在读取时变大了（可能正在写入），请写完后重新运行 unionbot index")
    return raw


def decode(raw: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK and GB2312) or Big5, whichever reads as
    common Chinese; binary data is refused."""
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
    best: tuple[float, str, str] | None = None  # (share of common characters, text, label)
    for codec, label in CJK_ENCODINGS:
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError:
            continue
        share = _common_share(text)
        if best is None or share > best[0]:
            best = (share, text, label)
        del text
        if best[0] >= 0.4:  # reads as Chinese: no need to try Big5 (bytes of Big5 text also decode as GB18030)
            break
    if best is None:
        raise UnreadableFile("无法识别文件编码（支持 UTF-8、GBK/GB18030 和 Big5），请另存为 UTF-8")
    if _looks_binary(best[1]):
        raise UnreadableFile("不是文本文件（含二进制内容），请确认文件格式")
    return best[1], best[2]


@lru_cache(maxsize=1)
def _common_chars() -> frozenset[str]:
    return frozenset("".join(data_lines("common_chars.txt")))


def _common_share(text: str) -> float:
    """Share of the Chinese characters at the start of text that are frequent ones (bot/data/common_chars.txt)."""
    han = [ch for ch in text[:4000] if "\u4e00" <= ch <= "\u9fff"]
    return sum(ch in _common_chars() for ch in han) / len(han) if han else 0.0


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


def _docx_text(raw: bytes, max_unzipped: int) -> str:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            _check_unzipped_size(zf, max_unzipped)
        document = docx.Document(io.BytesIO(raw))
    except UnreadableFile:
        raise
    except Exception as e:  # python-docx and zipfile raise several types for broken files
        raise UnreadableFile(f"无法打开 Word 文件（{type(e).__name__}），文件可能已损坏") from e
    paras = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            paras.append(" | ".join(c.text for c in row.cells))
    return "\n\n".join(paras)


def _check_unzipped_size(zf: zipfile.ZipFile, limit: int) -> None:
    """Refuse a zip bomb: first from the sizes in the central directory (nothing decompressed yet), then by
    counting the bytes actually decompressed, part by part, stopping at the limit."""
    declared = sum(info.file_size for info in zf.infolist())
    bomb = "Word 文件解压后过大（{size}，上限 {limit}），疑似压缩炸弹，未读取"
    if declared > limit:
        raise UnreadableFile(bomb.format(size=_mb(declared), limit=_mb(limit)))
    total = 0
    for info in zf.infolist():
        with zf.open(info) as part:
            while chunk := part.read(1 << 20):
                total += len(chunk)
                if total > limit:
                    raise UnreadableFile(bomb.format(size=f"超过 {_mb(limit)}", limit=_mb(limit)))


def _pdf_text(raw: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # an owner password alone does not stop reading
            except NotImplementedError as e:
                raise UnreadableFile("PDF 已加密（加密方式不受支持），无法读取；请另存为不加密的 PDF") from e
            if not opened:
                raise UnreadableFile("PDF 已加密（需要密码才能打开），无法读取；请另存为不加密的 PDF")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableFile:
        raise
    except Exception as e:  # pypdf raises many types for damaged files
        raise UnreadableFile(f"无法解析 PDF（{type(e).__name__}），文件可能已损坏") from e
    text = "\n\n".join(pages)
    if not text.strip():
        raise UnreadableFile("PDF 没有文字层，可能是扫描件，需先做文字识别（OCR）")
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
