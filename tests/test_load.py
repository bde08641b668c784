from pathlib import Path

import pytest

from bot.load import UnreadableFile, decode, load_documents, read_file


def test_gbk_and_utf8_bom_files_are_decoded(tmp_path: Path):
    (tmp_path / "gbk.txt").write_bytes("工会驿站为职工服务。".encode("gbk"))
    (tmp_path / "bom.txt").write_bytes("\ufeff劳动合同".encode("utf-8"))
    report = load_documents(tmp_path)
    texts = {f.path: (f.text, f.encoding) for f in report.files}
    assert texts["gbk.txt"] == ("工会驿站为职工服务。\n", "gb18030")
    assert texts["bom.txt"] == ("劳动合同\n", "utf-8-sig")


def test_bad_files_are_reported_by_name_and_the_rest_is_loaded(tmp_path: Path):
    (tmp_path / "good.md").write_text("# 标题\n\n职工可以加入工会。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not a zip")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    report = load_documents(tmp_path)
    assert [f.path for f in report.files] == ["good.md"]
    reasons = dict(report.errors)
    assert set(reasons) == {"empty.txt", "binary.txt", "broken.pdf", "broken.docx"}
    assert "为空" in reasons["empty.txt"]
    assert "二进制" in reasons["binary.txt"]
    assert "PDF" in reasons["broken.pdf"]
    assert "Word" in reasons["broken.docx"]
    assert report.ignored == ["image.png"]


def test_html_docx_and_pdf_text(tmp_path: Path):
    html = tmp_path / "a.html"
    html.write_text("<html><script>x=1</script><body><h1>工会</h1><p>职工之家</p></body></html>", encoding="utf-8")
    assert read_file(html).text.split() == ["工会", "职工之家"]

    import docx

    d = docx.Document()
    d.add_paragraph("第一条 职工有权参加工会。")
    d.save(tmp_path / "b.docx")
    assert "职工有权参加工会" in read_file(tmp_path / "b.docx").text

    from pypdf import PdfWriter

    w = PdfWriter()
    w.add_blank_page(100, 100)
    with open(tmp_path / "scan.pdf", "wb") as f:
        w.write(f)
    with pytest.raises(UnreadableFile, match="扫描件"):
        read_file(tmp_path / "scan.pdf")


def test_decode_refuses_nul_bytes():
    with pytest.raises(UnreadableFile):
        decode(b"abc\x00def")


def test_missing_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="文档目录不存在"):
        load_documents(tmp_path / "nope")
