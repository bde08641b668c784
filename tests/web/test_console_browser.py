"""End-to-end: the officers' console in Debian's headless Chromium against the real app and a real index (its own
copy of the web corpus, since these tests upload, correct, delete and rebuild)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.console.auth import hash_password
from bot.index import build_index
from bot.store import open_store

from .conftest import SCREENSHOTS, Console, Opened, serve_app, write_web_corpus
from .documents import docx_bytes, pdf_bytes

pytestmark = pytest.mark.browser

ADMIN = ("管理员甲", "admin-pass-123")
OFFICER = ("干事乙", "officer-pass-123")
LAPTOP = {"width": 1280, "height": 800}
TABLET = {"width": 768, "height": 1024}
PHONE = {"width": 390, "height": 800}

DOCX_LINES = [
    "常州市总工会开通职工心理援助热线",
    "常州市总工会　周敏",
    "2025年，常州市总工会开通职工心理援助热线，由专业心理咨询师为职工提供免费心理疏导服务。热线每天早八点到晚十点有人值班，全年接听职工来电一千余次。",
]
PDF_LINES = [
    "无锡市总工会推出农民工法律援助专窗。",
    "2025年，无锡市总工会在市民中心设立农民工法律援助专窗，",
    "为农民工免费代写仲裁申请书，帮助追讨欠薪，已为两百多名农民工追回工资。",
]


@pytest.fixture(scope="module")
def console_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    """The real app over a fresh copy of the web corpus (default embedder), with an admin and an officer."""
    root = tmp_path_factory.mktemp("console-site")
    docs, keys = write_web_corpus(root, {"file-key-1": "文件里的驿站"})
    settings = Settings(documents_dir=docs, index_dir=root / "index", embedder="e5-small-q4",  # type: ignore[call-arg]
                        state_db=root / "state.sqlite3", kiosk_keys_file=keys)
    build_index(settings)
    store = open_store(settings)
    store.console.add_account(ADMIN[0], hash_password(ADMIN[1]), "admin")
    store.console.add_account(OFFICER[0], hash_password(OFFICER[1]), "officer")
    store.close()
    with serve_app(settings) as url:
        yield url, settings


@dataclass
class InContext(Opened):
    """An opened page with its browser context (for more tabs signed in as the same account)."""

    context: Any

    def goto(self, path: str) -> Any:
        response = self.page.goto(path)
        self.page.wait_for_selector("body[data-ready=true]", state="attached")
        return response


@pytest.fixture
def open_as(browser: Any, console_site: tuple[str, Settings]) -> Iterator[Any]:
    """open_as(account or None, viewport) -> a new browser context, signed in through the sign-in page."""
    url, _ = console_site
    contexts: list[Any] = []

    def opener(account: tuple[str, str] | None, viewport: dict[str, int] = LAPTOP) -> InContext:
        context = browser.new_context(viewport=viewport, base_url=url, locale="zh-CN")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        opened = InContext(page, Console.watch(page), context)
        if account is not None:
            opened.goto("/console/login")
            page.fill("#name", account[0])
            page.fill("#password", account[1])
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.wait_for_selector("body[data-ready=true]", state="attached")
        return opened

    yield opener
    for c in contexts:
        c.close()


def _drop_files(page: Any, files: dict[str, bytes]) -> None:
    """Drop files on the upload zone the way a file manager does (a DataTransfer with File objects)."""
    payload = {name: list(data) for name, data in files.items()}
    transfer = page.evaluate_handle(
        """(files) => { const dt = new DataTransfer();
             for (const [name, bytes] of Object.entries(files)) dt.items.add(new File([new Uint8Array(bytes)], name));
             return dt; }""",
        payload,
    )
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def _rebuild(page: Any) -> None:
    """Start a rebuild on the knowledge-base page and wait until the streamed progress says it is done."""
    page.evaluate("() => { delete document.body.dataset.rebuilt; }")
    page.click("#rebuild")
    page.wait_for_selector("body[data-rebuilt]", state="attached", timeout=120_000)
    assert page.locator("body").get_attribute("data-rebuilt") == "ok", page.locator("#progress").inner_text()
    assert page.locator("#progress li[data-stage=done]").count() == 1


def _ask(page: Any, question: str) -> Any:
    page.fill("#composer-input", question)
    page.press("#composer-input", "Enter")
    answer = page.locator(".msg.bot").last
    answer.locator(".fb-button").first.wait_for()
    return answer


# ---------------------------------------------------------------------------------------------------- tests


def test_a_signed_out_visitor_is_sent_to_sign_in_and_comes_back(open_as: Any) -> None:
    opened = open_as(None)
    page = opened.page
    opened.goto("/console/review")
    assert "/console/login?next=/console/review" in page.url
    opened.shot("console-login-1280x800")
    page.fill("#name", ADMIN[0])
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "错误" in page.locator("#login-error").inner_text()
    page.fill("#password", ADMIN[1])
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.url.endswith("/console/review")
    assert page.locator(".console-nav a[aria-current=page]").inner_text() == "问答审阅"
    page.click("#sign-out")
    page.wait_for_url("**/console/login")
    opened.goto("/console")
    assert "/console/login" in page.url


def test_an_officer_cannot_reach_account_or_key_management(open_as: Any) -> None:
    opened = open_as(OFFICER)
    page = opened.page
    assert page.locator(".console-nav a").all_inner_texts() == ["概览", "知识库", "问答审阅", "转人工"]
    for path in ("/console/accounts", "/console/keys", "/console/audit"):
        response = opened.goto(path)
        assert response.status == 403, path
        assert "仅限管理员" in page.locator("#page").inner_text()
    assert page.evaluate("() => fetch('/console/api/accounts').then(r => r.status)") == 403
    opened.goto("/console/documents")
    assert page.locator("#docs tbody tr").count() >= 4
    opened.console.problems = [p for p in opened.console.problems if "status of 403" not in p]  # asked for above
    opened.console.assert_clean()


def test_upload_a_docx_and_a_pdf_rebuild_and_find_them_in_search_and_chat(open_as: Any, console_site: tuple[str, Settings]) -> None:
    _, settings = console_site
    opened = open_as(ADMIN)
    page = opened.page
    opened.goto("/console/documents")
    _drop_files(page, {"常州心理援助.docx": docx_bytes(DOCX_LINES), "无锡法律援助.pdf": pdf_bytes(PDF_LINES),
                       "扫描件.pdf": b"%PDF-1.4\n%%EOF\n"})
    report = page.locator("#upload-report li")
    page.wait_for_function("() => document.querySelectorAll('#upload-report li .badge.info').length === 0 && "
                           "document.querySelectorAll('#upload-report li').length === 3")
    texts = report.all_inner_texts()
    assert "已读取" in texts[0] and "常州心理援助.docx" in texts[0]
    assert "已读取" in texts[1] and "无锡法律援助.pdf" in texts[1]
    assert "已跳过" in texts[2] and "PDF" in texts[2]
    assert (Path(settings.documents_dir) / "常州心理援助.docx").is_file()
    page.wait_for_selector(".banner")  # files waiting for a rebuild
    _rebuild(page)
    page.wait_for_function("() => !document.querySelector('.banner')")
    assert page.locator("#docs tbody", has_text="常州市总工会开通职工心理援助热线").count() == 1
    opened.shot("console-documents-1280x800")

    search = opened.context.new_page()
    search.goto("/search?q=农民工法律援助专窗")
    search.wait_for_selector(".result")
    assert "农民工法律援助专窗" in search.locator(".result").first.inner_text()

    chat = opened.context.new_page()
    chat.goto("/")
    chat.wait_for_selector("body[data-ready=true]", state="attached")
    answer = _ask(chat, "常州的职工心理援助热线几点有人值班？")
    assert not answer.locator(".refused-note").count(), answer.inner_text()
    assert "心理援助热线" in answer.locator(".sources").inner_text()
    opened.console.assert_clean()


def test_correcting_a_region_changes_the_search_facet_after_the_rebuild(open_as: Any) -> None:
    opened = open_as(ADMIN)
    page = opened.page
    search = opened.context.new_page()
    search.goto("/search?q=驿站 维权 家政护理员")
    search.wait_for_selector(".result")
    assert search.locator(".facet[data-facet=region][data-value=南京]").count() == 0

    opened.goto("/console/documents")
    page.fill("#filter", "鼓楼区")
    page.locator("#docs tbody a").first.click()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    page.wait_for_selector("#meta")
    assert page.locator(".passage").count() >= 1  # exactly how the document was split
    page.fill("#meta input[name=region]", "南京")
    page.click("#meta button[type=submit]")
    page.wait_for_selector("#toast:not([hidden])")
    assert "已保存" in page.locator("#toast").inner_text()
    opened.shot("console-document-1280x800")
    opened.goto("/console/documents")
    _rebuild(page)

    search.goto("/search?q=驿站 维权 家政护理员")
    search.wait_for_selector(".facet[data-facet=region][data-value=南京]")
    opened.goto("/console/documents")
    page.fill("#filter", "鼓楼区")
    assert "南京" in page.locator("#docs tbody tr").first.inner_text()
    opened.console.assert_clean()


def test_a_thumbs_down_is_handled_in_the_review_queue_and_becomes_a_lay_question(
    open_as: Any, console_site: tuple[str, Settings]
) -> None:
    _, settings = console_site
    worker = open_as(None, PHONE)
    worker.goto("/")
    answer = _ask(worker.page, "试用期最长可以约定多久？")
    with worker.page.expect_response(lambda r: r.url.endswith("/api/feedback")):
        answer.locator(".fb-button[data-rating=down]").click()

    opened = open_as(OFFICER)
    page = opened.page
    opened.goto("/console/review")
    turn = page.locator(".turn", has_text="试用期最长可以约定多久？").first
    turn.wait_for()
    assert "没帮助" in turn.locator(".turn-head").inner_text()
    turn.locator("button[data-act=lay]").click()
    turn.locator(".lay input[type=radio]").first.wait_for()
    turn.locator(".lay-q").fill("试用期顶多能定几个月")
    turn.locator(".lay input[type=radio]").first.check()
    opened.shot("console-review-1280x800")
    turn.locator("button[data-act=attach]").click()
    turn.locator(".lay [role=status]").wait_for()
    assert ".questions.tsv" in turn.locator(".lay").inner_text()
    turn.locator(".note").fill("已补充口语问题")
    turn.locator("button[data-act=handle]").click()
    page.wait_for_function("() => ![...document.querySelectorAll('.turn-q')].some(q => q.textContent === '试用期最长可以约定多久？')")

    sidecars = list(Path(settings.documents_dir).rglob("*.questions.tsv"))
    assert any("试用期顶多能定几个月" in s.read_text(encoding="utf-8") for s in sidecars)
    page.click("[data-view=all]")
    handled = page.locator(".turn", has_text="试用期最长可以约定多久？").first
    handled.wait_for()
    assert "已处理" in handled.inner_text()
    opened.console.assert_clean()
    worker.console.assert_clean()


def test_a_handoff_goes_from_the_chat_to_the_console_and_back(open_as: Any) -> None:
    worker = open_as(None, PHONE)
    chat = worker.page
    worker.goto("/")
    answer = _ask(chat, "公司拖欠我三个月工资怎么办？")
    answer.locator(".handoff-button").click()
    form = answer.locator(".handoff-form")
    assert form.locator("textarea").input_value() == "公司拖欠我三个月工资怎么办？"
    form.locator("input[name=contact]").fill("139 0000 1234")
    worker.shot("chat-phone-handoff-form")
    with chat.expect_response(lambda r: r.url.endswith("/api/handoff") and r.request.method == "POST"):
        form.locator(".handoff-submit").click()
    answer = chat.locator(".msg.bot", has=chat.locator(".handoff-sent")).first
    answer.wait_for()

    officer = open_as(OFFICER)
    page = officer.page
    officer.goto("/console/handoffs")
    request = page.locator("#requests button", has_text="公司拖欠我三个月工资怎么办？").first
    request.click()
    page.wait_for_selector("#detail button[data-act=claim]")
    assert "139 0000 1234" in page.locator("#detail").inner_text()
    page.click("#detail button[data-act=claim]")
    page.wait_for_selector("#detail[data-status=claimed] #reply-text")
    page.fill("#reply-text", "您好，请带上劳动合同和工资条到区总工会法律援助窗口，我们帮您申请支付令。")
    page.click("#detail button[data-act=reply]")
    page.wait_for_selector("#detail[data-status=answered] .bubble-line.officer")
    officer.shot("console-handoffs-1280x800")

    reply = chat.locator(".msg.officer")  # the open chat page polls for replies
    reply.wait_for(timeout=30_000)
    assert "法律援助窗口" in reply.inner_text() and OFFICER[0] in reply.inner_text()
    worker.shot("chat-phone-officer-reply")
    chat.reload()
    chat.wait_for_selector("body[data-ready=true]", state="attached")
    assert chat.locator(".msg.officer").count() == 1  # kept for the next visit, never shown twice
    officer.console.assert_clean()
    worker.console.assert_clean()


def test_admins_manage_accounts_and_kiosk_keys(open_as: Any, console_site: tuple[str, Settings]) -> None:
    url, _ = console_site
    opened = open_as(ADMIN)
    page = opened.page
    opened.goto("/console/accounts")
    page.fill("#add input[name=name]", "新干事")
    page.fill("#add input[name=password]", "new-officer-pw")
    page.click("#add button[type=submit]")
    page.wait_for_selector("#accounts tbody tr:has-text('新干事')")
    opened.goto("/console/keys")
    page.fill("#new-key input[name=station]", "常州市天宁区工会驿站")
    page.click("#new-key button[type=submit]")
    key = page.locator("#new-key-value").inner_text()
    assert key.startswith("ks_")
    ask = httpx.post(url + "/api/kiosk/ask", json={"message": "怎样加入工会"}, headers={"X-API-Key": key}, timeout=30)
    assert ask.status_code == 200
    assert httpx.post(url + "/api/kiosk/ask", json={"message": "怎样加入工会"}, headers={"X-API-Key": "file-key-1"},
                      timeout=30).status_code == 200  # the keys file keeps working
    page.once("dialog", lambda d: d.accept())
    page.locator("#keys tbody tr", has_text="常州市天宁区工会驿站").locator("button[data-act=revoke]").click()
    page.wait_for_selector("#keys tbody tr:has-text('已吊销')")
    assert httpx.post(url + "/api/kiosk/ask", json={"message": "怎样加入工会"}, headers={"X-API-Key": key},
                      timeout=30).status_code == 401
    opened.goto("/console/audit")
    log = page.locator("#audit tbody").inner_text()
    for action in ("新建账号", "新建站点密钥", "吊销站点密钥", "上传文档", "重建索引", "更正元数据", "添加口语问题", "回复转人工"):
        assert action in log, action
    opened.console.assert_clean()


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_every_console_page_fits_laptops_and_tablets(open_as: Any, viewport: dict[str, int]) -> None:
    """Screenshots of each page (artifacts/screenshots/console-*), with no sideways scrolling of the page."""
    opened = open_as(ADMIN, viewport)
    page = opened.page
    size = f"{viewport['width']}x{viewport['height']}"
    opened.goto("/console/documents")
    doc_id = page.locator("#docs tbody a").first.get_attribute("href").split("id=")[1]
    pages = {"dashboard": "/console", "documents": "/console/documents", "document": f"/console/document?id={doc_id}",
             "review": "/console/review?view=all", "handoffs": "/console/handoffs?id=1", "accounts": "/console/accounts",
             "keys": "/console/keys", "audit": "/console/audit"}
    for name, path in pages.items():
        opened.goto(path)
        page.wait_for_timeout(150)
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {size}"
        opened.shot(f"console-{name}-{size}")
    login = open_as(None, viewport)
    login.goto("/console/login")
    login.shot(f"console-login-{size}")
    opened.console.assert_clean()
    print(f"\nconsole screenshots: {SCREENSHOTS}")
