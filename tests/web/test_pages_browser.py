"""End-to-end: the three pages in Debian's headless Chromium against the real app and a tiny real index."""

from __future__ import annotations

import json
import re
import time

import pytest

from .conftest import (
    DESKTOP,
    HTML_IN_DOCUMENT,
    KIOSK_KEY,
    KIOSK_LANDSCAPE,
    KIOSK_PORTRAIT,
    PHONE,
    SMALL_TARGETS_JS,
    UNNAMED_CONTROLS_JS,
    PageFactory,
)

pytestmark = pytest.mark.browser

CHAT_QUESTION = "试用期最长可以约定多久？"


# ---------------------------------------------------------------------- chat


def test_chat_answers_with_citation_card_streams_and_survives_reload(open_page: PageFactory) -> None:
    opened = open_page("/", PHONE, mobile=True)
    page = opened.page
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator(".starter").count() >= 4
    opened.shot("chat-phone-welcome")

    with page.expect_response(lambda r: r.url.endswith("/api/chat")) as chat_response:
        page.fill("#composer-input", CHAT_QUESTION)
        page.press("#composer-input", "Enter")  # send on Enter
    response = chat_response.value
    assert json.loads(response.request.post_data or "{}").get("stream") is True
    assert response.headers["content-type"].startswith("text/event-stream")

    answer = page.locator(".msg.bot").last
    answer.locator(".fb-button").first.wait_for()
    assert page.locator(".msg.me .bubble").last.inner_text() == CHAT_QUESTION
    assert answer.locator(".bubble").inner_text().strip()
    assert not answer.locator(".refused-note").count()

    # A numbered marker opens its source card: title, meta line, passage text and a link to the context.
    marker = answer.locator(".cite").first
    marker.click()
    assert marker.get_attribute("aria-expanded") == "true"
    card = answer.locator(".source-card").first
    card.wait_for(state="visible")
    assert "《" in card.locator("h3").inner_text()
    assert card.locator(".source-text").inner_text().strip()
    link = card.locator(".source-link")
    assert link.get_attribute("href").startswith("/search?doc=")
    page.wait_for_timeout(400)  # let the card's flash and scroll settle before the picture
    opened.shot("chat-phone-answer")

    # The conversation comes back after a reload (session id + transcript in localStorage).
    stored = page.evaluate("() => JSON.parse(localStorage.getItem('unionbot.chat.v1'))")
    assert stored["session_id"]
    page.reload()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.locator(".msg.me .bubble").last.inner_text() == CHAT_QUESTION
    assert page.locator(".msg.bot .source-toggle").count() >= 1
    assert not page.evaluate(UNNAMED_CONTROLS_JS)
    opened.console.assert_clean()


def test_chat_read_in_context_opens_the_document_view(open_page: PageFactory) -> None:
    opened = open_page("/", PHONE, mobile=True)
    page = opened.page
    page.fill("#composer-input", "上下班途中受伤算工伤吗？")
    page.click("#send")
    answer = page.locator(".msg.bot").last
    answer.locator(".source-toggle").first.click()
    answer.locator(".source-link").first.click()
    page.wait_for_url(re.compile(r"/search\?doc="))
    page.wait_for_selector("#doc-view[data-loaded]", state="attached")
    focus = page.locator(".doc-passage.focus")
    assert focus.count() == 1 and focus.is_visible()
    opened.shot("search-phone-document-from-chat")
    opened.console.assert_clean()


def test_chat_shows_a_note_when_it_cannot_answer_and_takes_feedback(open_page: PageFactory) -> None:
    opened = open_page("/", PHONE, mobile=True)
    page = opened.page
    page.locator(".starter").first.click()  # a starter question asks without typing
    first = page.locator(".msg.bot").last
    first.locator(".fb-button").first.wait_for()

    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as fb:
        first.locator(".fb-button[data-rating=up]").click()
    assert fb.value.ok
    assert first.locator(".fb-button[data-rating=up]").get_attribute("aria-pressed") == "true"
    first.locator(".fb-thanks").wait_for()

    page.fill("#composer-input", "明天杭州天气怎么样？")
    page.press("#composer-input", "Enter")
    refused = page.locator(".msg.bot").last
    refused.locator(".refused-note").wait_for()
    assert "暂时无法回答" in refused.locator(".refused-note").inner_text()
    page.wait_for_timeout(300)
    opened.shot("chat-phone-refused")
    opened.console.assert_clean()


def test_chat_link_with_question_asks_at_once(open_page: PageFactory) -> None:
    """The kiosk QR code opens /?q=… on the phone: the page asks that question by itself."""
    opened = open_page("/?q=" + "怎样加入工会？", PHONE, mobile=True)
    page = opened.page
    page.locator(".msg.bot .fb-button").first.wait_for()
    assert page.locator(".msg.me .bubble").first.inner_text() == "怎样加入工会？"
    assert "q=" not in page.url  # a reload must not ask again
    opened.console.assert_clean()


# -------------------------------------------------------------------- search


def _total(page) -> int:  # noqa: ANN001
    return int(page.locator("#result-count").get_attribute("data-total"))


def test_search_region_facet_narrows_results_and_shows_similar_cases(open_page: PageFactory) -> None:
    opened = open_page("/search?q=快递员 工会驿站", DESKTOP)
    page = opened.page
    page.wait_for_selector(".result")
    before = _total(page)
    regions = page.locator(".facet[data-facet=region]")
    assert regions.count() >= 2, "the corpus names several cities"
    assert page.locator(".result mark").count() >= 1  # highlighted matches
    assert page.locator(".result .meta .org").count() >= 1  # organisation on case cards
    opened.shot("search-desktop-results")

    region = regions.nth(1)
    value = region.get_attribute("data-value")
    expected = int(region.locator(".count").inner_text())
    with page.expect_response(lambda r: r.url.endswith("/api/search")):
        region.click()
    page.wait_for_function(
        "v => document.querySelector('.facet[data-facet=region][aria-pressed=true]')?.dataset.value === v", arg=value
    )
    after = _total(page)
    assert after != before and after == expected
    assert f"region={value}" in page.url or "region=" in page.url
    assert page.locator(".chip").count() == 1
    assert all(value in card for card in page.locator(".result").all_inner_texts())

    page.locator(".result .action[data-action=similar]").first.click()
    page.wait_for_selector(".similar[data-loaded]", state="attached")
    assert page.locator(".similar li").count() >= 1
    opened.shot("search-desktop-filtered-similar")

    # Clearing the filter brings the wider count back.
    page.locator(".chip").click()
    page.wait_for_function("n => Number(document.querySelector('#result-count').dataset.total) === n", arg=before)
    assert not page.evaluate(UNNAMED_CONTROLS_JS)
    opened.console.assert_clean()


def test_search_document_view_highlights_the_passage(open_page: PageFactory) -> None:
    opened = open_page("/search?q=试用期", PHONE, mobile=True)
    page = opened.page
    page.wait_for_selector(".result")
    opened.shot("search-phone-results")
    first_text = page.locator(".result .result-text").first.inner_text()
    page.locator(".result .action[data-action=doc]").first.click()
    page.wait_for_selector("#doc-view[data-loaded]", state="attached")
    focus = page.locator(".doc-passage.focus")
    assert focus.count() == 1
    assert first_text.strip()[:20] in focus.inner_text()
    assert page.locator(".doc-passage").count() > 1  # the whole statute, not only the passage
    assert "劳动合同法" in page.locator("#doc-title").inner_text()
    page.wait_for_timeout(200)
    opened.shot("search-phone-document")
    page.keyboard.press("Escape")  # keyboard closes the dialog
    page.wait_for_selector("#doc-view", state="hidden")
    page.wait_for_function("() => !location.search.includes('doc=')")  # the close event tidies the address
    opened.console.assert_clean()


def test_search_keyboard_only(open_page: PageFactory) -> None:
    opened = open_page("/search", DESKTOP)
    page = opened.page
    page.focus("#q")
    page.keyboard.type("拖欠工资")
    page.keyboard.press("Enter")
    page.wait_for_selector(".result")
    button = page.locator(".facet").first
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".facet[aria-pressed=true]")
    opened.console.assert_clean()


# --------------------------------------------------------------------- kiosk


def test_kiosk_topic_answers_without_typing_and_resets_when_idle(open_page: PageFactory) -> None:
    opened = open_page(f"/kiosk?key={KIOSK_KEY}&idle=5", KIOSK_PORTRAIT)
    page = opened.page
    assert page.locator("input, textarea").count() == 0  # no text field needed
    assert float(page.evaluate("getComputedStyle(document.body).fontSize").rstrip("px")) >= 24
    assert not page.evaluate(SMALL_TARGETS_JS, 48)
    assert page.locator(".topics .topic").count() == 6
    opened.shot("kiosk-portrait-home")

    with page.expect_response(lambda r: r.url.endswith("/api/kiosk/ask")) as kiosk_response:
        page.locator(".topic[data-topic=contract]").click()
    assert kiosk_response.value.ok
    assert kiosk_response.value.request.headers.get("x-api-key") == KIOSK_KEY
    page.wait_for_selector("body[data-answered]", state="attached")
    assert page.get_attribute("body", "data-answered") in ("answer", "refused")
    assert page.locator("#answer-box").inner_text().strip()
    assert page.locator("#answer-question").inner_text() == "上班多久公司必须跟我签劳动合同？"
    page.wait_for_function("() => document.querySelector('#qr-image').naturalWidth > 0")
    qr_src = page.get_attribute("#qr-image", "src")
    assert qr_src.startswith("/api/qr?text=") and "%2F%3Fq%3D" in qr_src  # opens /?q=<question> on the phone
    assert not page.evaluate(SMALL_TARGETS_JS, 48)
    opened.shot("kiosk-portrait-answer")

    # No touch for the (shortened) idle time: the screen is wiped for the next visitor.
    page.locator("#answer-question").click()  # a touch restarts the idle timer
    touched = time.monotonic()
    page.wait_for_timeout(2500)
    assert page.get_attribute("body", "data-screen") == "answer"  # not before the idle time
    page.wait_for_selector("body[data-screen=home]", state="attached", timeout=12_000)
    assert time.monotonic() - touched >= 4.5
    assert page.locator("#answer").is_hidden()
    assert page.locator("#home").is_visible()
    assert page.locator("#answer-box").inner_text() == ""
    assert page.get_attribute("body", "data-wiped") == "1"
    opened.console.assert_clean()


def test_kiosk_landscape_and_home_button(open_page: PageFactory) -> None:
    opened = open_page(f"/kiosk?key={KIOSK_KEY}", KIOSK_LANDSCAPE)
    page = opened.page
    opened.shot("kiosk-landscape-home")
    page.locator(".topic[data-topic=injury]").click()
    page.wait_for_selector("body[data-answered]", state="attached")
    page.wait_for_function("() => document.querySelector('#qr-image').naturalWidth > 0")
    opened.shot("kiosk-landscape-answer")
    assert not page.evaluate(SMALL_TARGETS_JS, 48)
    page.locator(".more-topics .topic[data-topic=station]").click()  # local station-services answer
    page.wait_for_selector("body[data-answered=local]", state="attached")
    assert "饮水" in page.locator("#answer-box").inner_text()
    page.locator("#home-button").click()
    page.wait_for_selector("body[data-screen=home]", state="attached")
    assert page.get_attribute("body", "data-idle-seconds") == "60"  # from settings
    opened.console.assert_clean()


def test_kiosk_at_phone_size_still_works(open_page: PageFactory) -> None:
    opened = open_page(f"/kiosk?key={KIOSK_KEY}", PHONE, mobile=True)
    page = opened.page
    page.locator(".topic[data-topic=leave]").click()
    page.wait_for_selector("body[data-answered]", state="attached")
    opened.shot("kiosk-phone-answer", full_page=True)
    opened.console.assert_clean()


# ---------------------------------------------------------------------- API docs


def test_docs_page_runs_swagger_ui_under_the_content_security_policy(open_page: PageFactory) -> None:
    """Swagger UI starts from /docs/init.js (no inline script), so the strict policy blocks nothing, and it
    renders FastAPI's OpenAPI 3.1 schema (Swagger UI 4, shipped before, could not)."""
    opened = open_page("/docs", DESKTOP, wait_ready=False)
    opened.page.wait_for_selector("#swagger-ui .opblock-summary-path[data-path='/api/chat']")  # an operation rendered
    assert "Unable to render" not in opened.page.inner_text("#swagger-ui")
    opened.console.assert_clean()  # a blocked script, style or image would be reported here


# ---------------------------------------------------------------------- hostile text


HTML_QUESTION = '<img src=x onerror="window.__pwned = 3">嘉兴市总工会夏季送清凉慰问了多少人？'
NOT_RUN_JS = "() => window.__pwned === undefined && !document.querySelector('img[src=x], b, script:not([src])')"


def test_html_in_documents_and_questions_is_shown_as_text_never_run(open_page: PageFactory) -> None:
    """Markup inside a document (a newsletter with <script>, <img onerror>, <b>) or typed into a question is
    shown as the characters it is, on all three pages, and never becomes elements or runs."""
    chat = open_page("/", PHONE, mobile=True)
    chat.page.fill("#composer-input", HTML_QUESTION)
    chat.page.press("#composer-input", "Enter")
    answer = chat.page.locator(".msg.bot").last
    answer.locator(".fb-button").first.wait_for()
    assert chat.page.locator(".msg.me .bubble").last.inner_text() == HTML_QUESTION
    answer.locator(".cite").first.click()
    card = answer.locator(".source-card").first
    card.wait_for(state="visible")
    assert "<script>" in card.locator(".source-text").inner_text() or "<img" in card.locator(".source-text").inner_text()
    assert chat.page.evaluate(NOT_RUN_JS)
    chat.console.assert_clean()

    search = open_page("/search?q=嘉兴 夏季送清凉", DESKTOP)
    search.page.wait_for_selector(".result")
    shown = search.page.locator(".results, #results").first.inner_text()
    assert "<b>夏季送清凉</b>" in shown or HTML_IN_DOCUMENT in shown
    assert search.page.evaluate(NOT_RUN_JS)
    search.console.assert_clean()

    # The kiosk asks fixed topics only; its answer comes from documents, so one carrying markup is served to it.
    kiosk = open_page(f"/kiosk?key={KIOSK_KEY}", KIOSK_PORTRAIT)
    hostile = {"answer": f"高温津贴{HTML_IN_DOCUMENT}<img src=x onerror=\"window.__pwned = 4\">按规定发放[1]",
               "citations": [], "refused": False, "reason": None, "session_id": "s", "message_id": "m",
               "next_steps": None, "idle_seconds": 60}
    kiosk.page.route("**/api/kiosk/ask", lambda route: route.fulfill(json=hostile))
    kiosk.page.locator(".topic").first.click()
    kiosk.page.wait_for_selector("body[data-answered]", state="attached")
    assert HTML_IN_DOCUMENT in kiosk.page.locator("#answer-box").inner_text()
    assert kiosk.page.evaluate(NOT_RUN_JS)
