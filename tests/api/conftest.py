"""API fixtures: a tiny real corpus indexed once with the default embedder, and a factory of real apps over it.

The default embedder (e5-small-q4, bundled, offline) is used rather than "fake" because answering needs real
cosine similarities to pass the evidence thresholds; it is loaded once per session and shared by every app.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.api.app import create_app
from bot.assistant import Assistant
from bot.config import Settings
from bot.store import Store
from bot.embed import Embedder, make_embedder
from bot.index import build_index, load_index

ADMIN_TOKEN = "admin-secret-token"
KIOSK_KEYS = {"key-station-a": "杭州市拱墅区工会驿站", "key-station-b": "扬州市邗江区工会驿站"}
WECHAT_TOKEN = "unionbot-wechat-token"
WECHAT_APP_ID = "wx0123456789abcdef"
WECHAT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues them

LAW = """# 中华人民共和国劳动合同法

第十九条　劳动合同期限三个月以上不满一年的，试用期不得超过一个月；劳动合同期限一年以上不满三年的，试用期不得超过二个月；三年以上固定期限和无固定期限的劳动合同，试用期不得超过六个月。

同一用人单位与同一劳动者只能约定一次试用期。

第三十条　用人单位应当按照劳动合同约定和国家规定，向劳动者及时足额支付劳动报酬。

用人单位拖欠或者未足额支付劳动报酬的，劳动者可以依法向当地人民法院申请支付令，人民法院应当依法发出支付令。

第三十一条　用人单位应当严格执行劳动定额标准，不得强迫或者变相强迫劳动者加班。用人单位安排加班的，应当按照国家有关规定向劳动者支付加班费。

第八十二条　用人单位自用工之日起超过一个月不满一年未与劳动者订立书面劳动合同的，应当向劳动者每月支付二倍的工资。
"""

CASES = """【基层动态】

杭州市总工会推动快递员入会

杭州市总工会　王明

今年以来，杭州市总工会聚焦快递员、外卖送餐员等新就业形态劳动者，开展“集中入会”行动，在快递网点建立工会小组，累计吸纳快递员入会3200多人。市总工会还在驿站为快递员提供热水、充电和休息服务，并开展劳动法律咨询。

针对快递员反映的工资结算和工伤保障问题，市总工会联合人社部门开展专项协商，推动企业落实最低工资和工伤保险待遇，快递员的获得感明显增强。

【基层动态】

扬州市邗江区总工会开展产业工人技能培训

扬州市邗江区总工会　李华

2023年，邗江区总工会围绕产业工人队伍建设改革，组织开展职业技能竞赛和技能培训，培训一线职工1500人次，评选“邗江工匠”20名，推动企业建立技能等级与薪酬挂钩的分配机制。
"""


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return make_embedder(Settings())


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Documents and an index built once per test session."""
    root = tmp_path_factory.mktemp("api-corpus")
    docs = root / "documents"
    (docs / "laws").mkdir(parents=True)
    (docs / "cases").mkdir()
    (docs / "laws" / "劳动合同法(2012-12-28).md").write_text(LAW, encoding="utf-8")
    (docs / "cases" / "001_cases.txt").write_text(CASES, encoding="utf-8")
    settings = Settings(documents_dir=docs, index_dir=root / "index")
    build_index(settings, embedder)
    return settings


@pytest.fixture(scope="session")
def assistant_factory(embedder: Embedder) -> Callable[[Settings, Store], Assistant]:
    """Assistant.from_settings, but with the session's already loaded embedder."""

    def factory(settings: Settings, store: Store) -> Assistant:
        return Assistant(settings, load_index(settings.index_dir, embedder), embedder, store)

    return factory


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk_keys.json"
    path.write_text(json.dumps(KIOSK_KEYS, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def api_settings(built_index: Settings, tmp_path: Path, keys_file: Path) -> Settings:
    """Settings of one test: the shared index, and this test's own state database."""
    return built_index.model_copy(
        update={
            "state_db": tmp_path / "state.sqlite3",
            "admin_token": SecretStr(ADMIN_TOKEN),
            "kiosk_keys_file": keys_file,
            "kiosk_rate_per_minute": 3,
            "kiosk_idle_seconds": 60,
            "wechat_token": SecretStr(WECHAT_TOKEN),
            "wechat_app_id": WECHAT_APP_ID,
            "wechat_aes_key": SecretStr(WECHAT_AES_KEY),
            "wechat_reply_seconds": 4.0,
        }
    )


ClientFactory = Callable[..., TestClient]
SECRETS = ("admin_token", "wechat_token", "wechat_aes_key", "llm_api_key")  # SecretStr settings; make_client wraps str


@pytest.fixture
def make_client(api_settings: Settings, assistant_factory: Callable[[Settings, Store], Assistant]) -> Iterator[ClientFactory]:
    """Start real apps (lifespan included); keyword arguments override settings. Closed after the test."""

    clients: list[TestClient] = []

    def make(factory: Callable[[Settings], Any] | None = None, **overrides: Any) -> TestClient:
        for name in SECRETS:
            if isinstance(overrides.get(name), str):
                overrides[name] = SecretStr(overrides[name])
        settings = api_settings.model_copy(update=overrides)
        app = create_app(settings, assistant_factory=factory or assistant_factory, background_load=False)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        if not getattr(c, "stopped", False):
            c.__exit__(None, None, None)


def stop(client: TestClient) -> None:
    """Shut an app down (lifespan exit) before the end of the test, as a restart would."""
    client.__exit__(None, None, None)
    client.stopped = True  # type: ignore[attr-defined]


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False
