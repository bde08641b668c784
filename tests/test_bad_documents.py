"""Bad documents (issue 10, item 4): a folder of broken, hostile and odd files, generated here into a tmp dir,
is loaded and indexed; each bad file is reported with its reason, everything readable is indexed and searchable,
and neither the 50 MB text nor the zip bomb is ever read into memory."""

from __future__ import annotations

import io
import json
import os
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner
from pypdf import PdfReader, PdfWriter

from bot.cli import cli
from bot.index import load_index
from bot.load import UnreadableFile, load_documents, read_file
from tests.corpus_text import NEWSLETTER_GBK

MB = 1024 * 1024
BOMB_MB = 2048  # word/document.xml of the zip bomb expands to 2 GB

GUIDE = """# 职工维权常见问题指南

## 公司不签劳动合同怎么办

入职后，用人单位应当在用工之日起一个月内与您订立书面劳动合同。超过一个月不满一年仍未订立的，用人单位应当每月向您支付二倍的工资。请保留工牌、考勤记录和工资转账记录，它们都能证明劳动关系。
"""
DOCX_TEXT = "困难职工帮扶：会员本人或家庭成员患重大疾病的，可以向所在基层工会申请送温暖救助金，工会在十五个工作日内答复。"
SUMMARY = "2024年工会工作总结\n\n全年举办职工技能竞赛十二场，参赛职工一千五百人次，评选岗位能手八十名。\n"
BIG5 = "臺北市產業總工會舉辦勞工權益講座，說明加班費與特休假的計算方式，並請律師解答會員的問題。\n"
SECRET = "这段文字在文档目录之外，属于别人的机密资料，绝不能进入索引。\n"

# Every file of the corpus: None = read and indexed, else a piece of the reason it is skipped.
EXPECTED: dict[str, str | None] = {
    "职工维权指南.md": None,  # good
    "工会会员服务.docx": None,  # good
    "2024年 工会 工作总结（定稿）.txt": None,  # spaces and Chinese in the name
    "淮安简讯 GBK.txt": None,
    "台北讲座 Big5.txt": None,
    "仅限编辑密码.pdf": None,  # an owner password alone: readable
    "职工维权指南 副本.md": "与「职工维权指南.md」内容相同",
    "下载中断.pdf": "无法解析 PDF",
    "加密文件.pdf": "已加密",
    "扫描件.pdf": "没有文字层，可能是扫描件",
    "数据导出.txt": "文件过大（50 MB，上限 20 MB）",
    "空白.docx": "没有可提取的文字",
    "零字节.docx": "文件为空",
    "压缩炸弹.docx": "解压后过大（2049 MB，上限 100 MB），疑似压缩炸弹",
    "谎报大小.docx": "无法打开 Word 文件（BadZipFile）",
    "图片改名.md": "二进制",
    "外部链接.md": "指向文档目录之外",
    "职工维权指南.questions.tsv": "指向文档目录之外",  # officers' questions file: not read by the index either
    "循环甲.md": "循环",
    "循环乙.md": "循环",
    "子目录/上一级": "指向文档目录本身，不跟随",
}


# --- building the corpus --------------------------------------------------------------------------------

def _pdf(objects: list[bytes]) -> bytes:
    """A minimal PDF written by hand: object i is objects[i - 1], object 1 the catalog."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, keys: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), keys) + data + b"\nendstream"


def _one_page_pdf(resources: bytes, content: bytes, resource_object: bytes) -> bytes:
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Resources " + resources + b" /Contents 4 0 R >>",
        _stream(content),
        resource_object,
    ])


def text_pdf() -> bytes:
    """A page with a line of text in Helvetica (a text layer)."""
    return _one_page_pdf(b"<< /Font << /F1 5 0 R >> >>",
                         b"BT /F1 12 Tf 20 50 Td (Union members may join the annual skills training.) Tj ET",
                         b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")


def scanned_pdf() -> bytes:
    """A page that is only an image (as a scanner makes it): no text layer."""
    image = _stream(bytes(range(256)),
                    b"/Type /XObject /Subtype /Image /Width 16 /Height 16 /ColorSpace /DeviceGray /BitsPerComponent 8 ")
    return _one_page_pdf(b"<< /XObject << /Im0 5 0 R >> >>", b"q 300 0 0 100 0 0 cm /Im0 Do Q", image)


def encrypted_pdf(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf())))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes(*paragraphs: str) -> bytes:
    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _deflate(pieces: list[tuple[bytes, int]]) -> tuple[bytes, int, int]:
    """Raw deflate of each (data, times) in turn, with its CRC-32 and size. After a full flush the compressor
    starts afresh, so the block for `data` is the same every time: it is compressed once and repeated."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    for data, times in pieces:
        out.append((co.compress(data) + co.flush(zlib.Z_FULL_FLUSH)) * times)
        for _ in range(times):
            crc = zlib.crc32(data, crc)
        size += len(data) * times
    out.append(co.flush())
    return b"".join(out), crc, size


def _zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip written by hand from (name, deflated bytes, crc, real size, size stated in the headers)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, _, stated in entries:
        n = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), stated,
                               len(n), 0, 0, 0, 0, 0, len(out)) + n
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), stated, len(n), 0) + n + data
    return bytes(out + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                             len(central), len(out), 0))


def bomb_docx(lie: bool = False) -> bytes:
    """A real .docx whose word/document.xml is padded with BOMB_MB MB of spaces (about 2 MB compressed).
    With lie=True the zip states 1 KB for that part, so only counting the bytes read can catch it."""
    with zipfile.ZipFile(io.BytesIO(docx_bytes("正文"))) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    xml = parts.pop("word/document.xml")
    head, tail = xml.split(b"<w:body>")
    entries = []
    for name, data in parts.items():
        deflated, crc, size = _deflate([(data, 1)])
        entries.append((name, deflated, crc, size, size))
    deflated, crc, size = _deflate([(head + b"<w:body>", 1), (b" " * MB, BOMB_MB), (tail, 1)])
    entries.append(("word/document.xml", deflated, crc, size, 1024 if lie else size))
    return _zip(entries)


def write_bad_corpus(root: Path) -> Path:
    """The documents folder of EXPECTED, plus a folder outside it; returns the documents folder."""
    docs, outside = root / "docs", root / "outside"
    (docs / "子目录").mkdir(parents=True)
    outside.mkdir()
    (outside / "机密.md").write_text(SECRET, encoding="utf-8")
    (outside / "问题.tsv").write_text("\t外部的问题会不会被读进索引？\n", encoding="utf-8")
    (docs / "职工维权指南.md").write_text(GUIDE, encoding="utf-8")
    (docs / "职工维权指南 副本.md").write_text(GUIDE, encoding="utf-8")
    (docs / "工会会员服务.docx").write_bytes(docx_bytes("工会会员服务", DOCX_TEXT))
    (docs / "2024年 工会 工作总结（定稿）.txt").write_text(SUMMARY, encoding="utf-8")
    (docs / "淮安简讯 GBK.txt").write_bytes(NEWSLETTER_GBK.encode("gbk"))
    (docs / "台北讲座 Big5.txt").write_bytes(BIG5.encode("big5"))
    (docs / "仅限编辑密码.pdf").write_bytes(encrypted_pdf(user_password=""))
    (docs / "下载中断.pdf").write_bytes(text_pdf()[: len(text_pdf()) // 2])
    (docs / "加密文件.pdf").write_bytes(encrypted_pdf(user_password="secret"))
    (docs / "扫描件.pdf").write_bytes(scanned_pdf())
    with (docs / "数据导出.txt").open("wb") as f:  # a 50 MB export of membership dues, written in 1 MB pieces
        lines = "2023年12月31日,会员编号000123,张三,扬州市总工会,会费12.50元\n".encode() * 16_000
        while f.tell() + len(lines) <= 50 * MB:
            f.write(lines)
        f.write(b"\n" * (50 * MB - f.tell()))
    docx.Document().save(docs / "空白.docx")
    (docs / "零字节.docx").write_bytes(b"")
    (docs / "压缩炸弹.docx").write_bytes(bomb_docx())
    (docs / "谎报大小.docx").write_bytes(bomb_docx(lie=True))
    (docs / "图片改名.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16)
    os.symlink(outside / "机密.md", docs / "外部链接.md")
    os.symlink(outside / "问题.tsv", docs / "职工维权指南.questions.tsv")
    os.symlink("循环乙.md", docs / "循环甲.md")
    os.symlink("循环甲.md", docs / "循环乙.md")
    os.symlink("..", docs / "子目录" / "上一级", target_is_directory=True)
    return docs


@pytest.fixture(scope="module")
def bad_docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bad_corpus(tmp_path_factory.mktemp("bad"))


@contextmanager
def traced() -> Iterator[list[int]]:
    """Appends to the yielded list the peak bytes Python allocated inside the block (tracemalloc)."""
    peak: list[int] = []
    tracemalloc.start()
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


# --- tests ----------------------------------------------------------------------------------------------

def test_the_corpus_is_what_it_claims(bad_docs: Path):
    assert (bad_docs / "数据导出.txt").stat().st_size == 50 * MB
    for name in ("压缩炸弹.docx", "谎报大小.docx"):
        assert (bad_docs / name).stat().st_size < 4 * MB
    with zipfile.ZipFile(bad_docs / "压缩炸弹.docx") as zf:
        assert zf.getinfo("word/document.xml").file_size > BOMB_MB * MB
        with zf.open("word/document.xml") as part:  # honestly a bomb: it really expands (checked for 64 MB)
            assert sum(len(part.read(MB)) for _ in range(64)) == 64 * MB
    assert PdfReader(io.BytesIO(text_pdf())).pages[0].extract_text().startswith("Union members")
    assert PdfReader(io.BytesIO(encrypted_pdf("secret"))).is_encrypted
    assert (bad_docs / "循环甲.md").is_symlink() and (bad_docs / "外部链接.md").resolve().is_file()


def test_each_bad_file_is_reported_with_its_reason_and_the_rest_is_read(bad_docs: Path):
    with traced() as peak:
        report = load_documents(bad_docs)
    read = {f.path for f in report.files}
    reasons = dict(report.errors)
    assert read == {name for name, reason in EXPECTED.items() if reason is None}
    assert set(reasons) == {name for name, reason in EXPECTED.items() if reason}
    for name, expected in EXPECTED.items():
        if expected:
            assert expected in reasons[name], (name, reasons[name])
    assert report.ignored == []
    files = {f.path: f for f in report.files}
    assert files["淮安简讯 GBK.txt"].encoding == "gb18030" and "提案直通车" in files["淮安简讯 GBK.txt"].text
    assert files["台北讲座 Big5.txt"].encoding == "big5" and files["台北讲座 Big5.txt"].text == BIG5
    assert "annual skills training" in files["仅限编辑密码.pdf"].text
    assert not any("机密" in f.text for f in report.files)
    # neither the 50 MB export nor the 2 GB bomb was read: the whole folder costs a few MB
    assert peak[0] < 10 * MB, f"peak {peak[0] / MB:.1f} MB"


def test_a_refused_large_file_costs_no_memory_and_a_raised_limit_reads_it_within_four_times_its_size(
        bad_docs: Path):
    big = bad_docs / "数据导出.txt"
    with traced() as peak, pytest.raises(UnreadableFile, match="UNIONBOT_MAX_DOCUMENT_BYTES"):
        read_file(big)
    assert peak[0] < MB, f"peak {peak[0] / MB:.1f} MB"
    # With the limit raised the file is read whole, within the bound stated in bot/load.py: 4 x its size for
    # text without characters beyond U+FFFF.
    started = time.perf_counter()
    with traced() as peak:
        f = read_file(big, max_bytes=64 * MB)
    assert len(f.text) > 20_000_000 and f.encoding == "utf-8"
    assert peak[0] < 4 * 50 * MB + MB, f"peak {peak[0] / MB:.0f} MB for a 50 MB file"
    assert time.perf_counter() - started < 15


def test_zip_bombs_are_refused_without_being_decompressed(bad_docs: Path):
    for name in ("压缩炸弹.docx", "谎报大小.docx"):
        started = time.perf_counter()
        with traced() as peak, pytest.raises(UnreadableFile, match=EXPECTED[name]):
            read_file(bad_docs / name)
        assert peak[0] < 10 * MB and time.perf_counter() - started < 5, (name, peak[0], time.perf_counter() - started)


def test_unionbot_index_reports_every_bad_file_and_the_good_ones_are_searchable(bad_docs: Path, tmp_path: Path):
    runner = CliRunner()
    env = {"UNIONBOT_EMBEDDER": "fake", "UNIONBOT_STATE_DB": str(tmp_path / "state.sqlite3")}
    r = runner.invoke(cli, ["index", "--documents", str(bad_docs), "--index-dir", str(tmp_path / "index")], env=env)
    assert r.exit_code == 0, r.output
    bad = [name for name, reason in EXPECTED.items() if reason]
    printed = dict(line.removeprefix("跳过 ").split("：", 1) for line in r.output.splitlines() if line.startswith("跳过 "))
    assert sorted(printed) == sorted(bad)
    for name in bad:
        assert EXPECTED[name] in printed[name], (name, printed[name])
    assert f"完成：{len(EXPECTED) - len(bad)} 个文件" in r.output and f"跳过 {len(bad)} 个问题" in r.output
    idx = load_index(tmp_path / "index")
    assert {p.source_file for p in idx.passages} == {n for n, reason in EXPECTED.items() if reason is None}
    assert not any("机密" in p.text for p in idx.passages) and not any("外部" in q.text for q in idx.questions)
    for query, source in [("公司不签劳动合同二倍工资", "职工维权指南.md"),
                          ("重大疾病送温暖救助金", "工会会员服务.docx"),
                          ("职工技能竞赛参赛人次", "2024年 工会 工作总结（定稿）.txt"),
                          ("职代会提案直通车", "淮安简讯 GBK.txt"),
                          ("加班費與特休假", "台北讲座 Big5.txt")]:
        r = runner.invoke(cli, ["search", query, "--index-dir", str(tmp_path / "index"), "--json", "--k", "1"], env=env)
        assert r.exit_code == 0, r.output
        assert json.loads(r.output)[0]["source_file"] == source, query


def test_an_unexpected_parser_failure_is_reported_and_the_rest_is_read(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "甲.pdf").write_bytes(text_pdf())
    (tmp_path / "乙.md").write_text(GUIDE, encoding="utf-8")
    monkeypatch.setattr("bot.load._pdf_text", lambda raw: 1 // 0)
    report = load_documents(tmp_path)
    assert [f.path for f in report.files] == ["乙.md"]
    assert report.errors == [("甲.pdf", "读取时出错（ZeroDivisionError），已跳过")]
