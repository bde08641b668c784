"""GET/POST /wechat with wechatpy's own signature and crypto: plaintext, 安全模式, duplicates, holding replies."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from wechatpy.crypto import WeChatCrypto

from bot.api.routes.wechat import HELP, HOLDING, NOTHING_PENDING, STILL_WORKING
from bot.assistant import Assistant
from bot.config import Settings
from bot.store import Store

from .conftest import WECHAT_AES_KEY, WECHAT_APP_ID, WECHAT_TOKEN, ClientFactory, wait_until

OPENID = "oUser_0001"
ACCOUNT = "gh_unionbot"


def signed(timestamp: str = "1700000000", nonce: str = "n0nce", token: str = WECHAT_TOKEN) -> dict[str, str]:
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": OPENID}


def text_xml(content: str, msg_id: int, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(event: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event></xml>"
    )


def image_xml(msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[image]]></MsgType>"
        f"<PicUrl><![CDATA[http://example.invalid/a.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )


def post(client: TestClient, xml: str) -> str:
    r = client.post("/wechat", params=signed(), content=xml.encode(), headers={"content-type": "text/xml"})
    assert r.status_code == 200, r.text
    return r.text


def reply_content(reply_xml: str) -> str:
    root = ET.fromstring(reply_xml)
    assert root.findtext("ToUserName") == OPENID and root.findtext("FromUserName") == ACCOUNT
    assert root.findtext("MsgType") == "text"
    return root.findtext("Content") or ""


# ------------------------------------------------------------------ signatures


def test_url_verification_echoes_when_signed(client: TestClient) -> None:
    r = client.get("/wechat", params={**signed(), "echostr": "echo-123"})
    assert r.status_code == 200 and r.text == "echo-123"


def test_bad_signature_is_403_and_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    bad = {**signed(), "signature": "0" * 40}
    with caplog.at_level(logging.WARNING, logger="bot.api.routes.wechat"):
        assert client.get("/wechat", params={**bad, "echostr": "x"}).status_code == 403
        r = client.post("/wechat", params=bad, content=text_xml("试用期", 1).encode())
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert sum("invalid signature" in rec.getMessage() for rec in caplog.records) == 2
    assert client.get("/wechat").status_code == 403  # no parameters at all


def test_wechat_off_without_token(make_client: ClientFactory) -> None:
    c = make_client(wechat_token=None)
    assert c.get("/wechat", params=signed()).status_code == 404


# ------------------------------------------------------------------ messages


def test_text_message_gets_a_passive_reply_with_sources(client: TestClient) -> None:
    content = reply_content(post(client, text_xml("试用期最长多久？", 1001)))
    assert "依据：" in content and "《劳动合同法》" in content and "[1]" in content


def test_subscribe_gets_welcome_and_non_text_gets_help(client: TestClient) -> None:
    welcome = reply_content(post(client, event_xml("subscribe")))
    assert "工会问答助手" in welcome and "查看回答" in welcome and "工伤" in welcome
    assert reply_content(post(client, image_xml(2001))) == HELP
    assert post(client, event_xml("unsubscribe")) == "success"


def test_malformed_xml_is_400(client: TestClient) -> None:
    r = client.post("/wechat", params=signed(), content=b"<xml><MsgType>text")
    assert r.status_code == 400 and r.json()["error"] == "bad_message"


def test_encrypted_round_trip_with_wechatpy_crypto(client: TestClient) -> None:
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID)
    nonce, timestamp = "n0nce", "1700000000"
    encrypted = crypto.encrypt_message(text_xml("没签劳动合同怎么办？", 3001), nonce, timestamp)
    envelope = ET.fromstring(encrypted)
    params = {**signed(timestamp, nonce), "encrypt_type": "aes", "msg_signature": envelope.findtext("MsgSignature")}
    r = client.post("/wechat", params=params, content=encrypted.encode())
    assert r.status_code == 200, r.text
    out = ET.fromstring(r.text)
    assert out.findtext("Encrypt") and "<Content>" not in r.text  # the reply is encrypted too
    plain = crypto.decrypt_message(r.text, out.findtext("MsgSignature"), out.findtext("TimeStamp"), out.findtext("Nonce"))
    assert "《劳动合同法》" in reply_content(plain)

    params["msg_signature"] = "f" * 40
    r = client.post("/wechat", params=params, content=encrypted.encode())
    assert r.status_code == 403


def test_duplicate_msgid_is_answered_once(client: TestClient, api_settings: Settings) -> None:
    first = post(client, text_xml("加班费怎么算？", 4001))
    assert "依据：" in reply_content(first)
    assert post(client, text_xml("加班费怎么算？", 4001)) == "success"
    store = client.app.state.store
    msg = store.wechat_message("4001")
    assert msg is not None and msg.delivered and msg.status == "done"
    with sqlite3.connect(api_settings.state_path) as db:
        asked = db.execute("SELECT COUNT(*) FROM turns JOIN sessions ON sessions.id = turns.session_id"
                           " WHERE sessions.channel = 'wechat'").fetchone()[0]
        stored_ids = {r[0] for r in db.execute("SELECT user_key FROM wechat_messages UNION SELECT user_key FROM wechat_users")}
    assert asked == 1
    assert stored_ids == {store.user_key(OPENID)} and OPENID not in str(stored_ids)  # openids only as keyed hashes


class _Slow(Assistant):
    """The real assistant, made slow until `release` is set (an LLM that takes its time)."""

    release = threading.Event()

    def ask(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.release.wait(10)
        return super().ask(*args, **kwargs)


def test_slow_answer_gets_holding_reply_then_check_answer(make_client: ClientFactory, assistant_factory) -> None:
    _Slow.release.clear()

    def factory(settings: Settings, store: Store) -> Assistant:
        real = assistant_factory(settings, store)
        return _Slow(settings, real.index, real.embedder)

    c = make_client(factory, wechat_reply_seconds=0.3)
    t0 = time.monotonic()
    assert reply_content(post(c, text_xml("试用期最长多久？", 5001))) == HOLDING
    assert time.monotonic() - t0 < 2.0  # well inside WeChat's 5 s
    assert reply_content(post(c, text_xml("试用期最长多久？", 5001))) == HOLDING  # a redelivery does not ask twice
    assert reply_content(post(c, text_xml("查看回答", 5002))) == STILL_WORKING
    _Slow.release.set()
    store = c.app.state.store
    assert wait_until(lambda: store.wechat_message("5001").status == "done")
    answer = reply_content(post(c, text_xml("查看回答", 5003)))
    assert "依据：" in answer
    assert reply_content(post(c, text_xml("查看回答", 5004))) == NOTHING_PENDING
    assert post(c, text_xml("试用期最长多久？", 5001)) == "success"  # already delivered once


def test_overlong_question_gets_the_reason_in_chinese(client: TestClient) -> None:
    content = reply_content(post(client, text_xml("工资" * 600, 6001)))
    assert "问题太长" in content and "(" not in content


def test_answer_lost_in_a_restart_is_reported_not_left_pending(make_client: ClientFactory) -> None:
    from .conftest import stop

    first = make_client()
    first.app.state.store.claim_wechat_message("7001", OPENID, "试用期多久？")  # its worker died with the process
    stop(first)
    second = make_client()
    content = reply_content(post(second, text_xml("查看回答", 7002)))
    assert "重新发送" in content
    assert second.app.state.store.wechat_message("7001").status == "failed"
