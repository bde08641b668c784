"""GET/POST /wechat: the WeChat Official Account (微信公众号) callback, plaintext and 安全模式 (AES).

WeChat waits 5 s for a passive reply and retries the same MsgId otherwise. A question is answered in a
worker thread; if the answer is not ready within settings.wechat_reply_seconds the user gets a holding
reply and fetches the answer later by sending 「查看回答」. Each MsgId is asked once and answered once.

New questions are limited per sender openid (settings.public_rate_per_minute). WeChat shows no HTTP
status, so a sender over the limit gets a short text reply (SLOW_DOWN) and the question is not kept;
redeliveries of an accepted MsgId, 「查看回答」, events and other message types are not counted. In
plaintext mode anyone who has seen one signed URL can post any openid: use 安全模式 on public accounts.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from threading import Lock
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from bot.api.deps import RateLimiter
from bot.api.errors import ApiError, Forbidden, NotFound
from bot.api.schemas import ErrorOut, errors
from bot.config import Settings
from bot.errors import BotError, InvalidQuery
from bot.store import Store

logger = logging.getLogger(__name__)
router = APIRouter(tags=["wechat"])

CHECK_WORDS = frozenset({"查看回答", "查看答案", "查看", "回答"})
MAX_REPLY_BYTES = 2000  # WeChat truncates text replies at 2048 bytes

WELCOME = (
    "您好，欢迎关注！我是工会问答助手，可以回答：\n"
    "1. 劳动合同、试用期、工资、加班、休假\n"
    "2. 工伤认定、社会保险、劳动争议怎么办\n"
    "3. 如何加入工会、会员权益、困难帮扶\n"
    "4. 各地工会的做法和案例\n"
    "直接发送文字问题即可，例如：“试用期最长多久？”\n"
    "如果回答需要较长时间，请稍后发送「查看回答」获取。"
)
HELP = "目前只能回答文字问题。请直接输入您想咨询的劳动权益或工会工作问题，例如：“单位不给交社保怎么办？”"
HOLDING = "您的问题已收到，正在查询相关法规和案例，请稍候几秒后发送「查看回答」获取答复。"
STILL_WORKING = "回答还在整理中，请稍后再发送「查看回答」。"
NOTHING_PENDING = "目前没有待查看的回答。请直接发送您的问题。"
LOST = "抱歉，上一个问题没能处理完成，请重新发送一次问题。"
SORRY = "抱歉，系统暂时无法回答，请稍后再试。"
SLOW_DOWN = "您提问太频繁了，请休息一下，{seconds} 秒后再发送问题。"


class BadMessage(ApiError):
    status, code = 400, "bad_message"


class WechatService:
    """Verifies, decrypts, answers and encrypts WeChat messages; keeps unfinished answers for 「查看回答」."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.token = settings.wechat_token.get_secret_value() if settings.wechat_token else ""
        self.reply_seconds = settings.wechat_reply_seconds
        aes_key = settings.wechat_aes_key.get_secret_value() if settings.wechat_aes_key else ""
        self.crypto = WeChatCrypto(self.token, aes_key, settings.wechat_app_id or "") if self.token and aes_key else None
        self.limiter = RateLimiter(settings.public_rate_per_minute)  # new questions per sender openid
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="wechat")
        self.futures: dict[str, Future[str]] = {}
        self._lock = Lock()

    @property
    def store(self) -> Store:
        return self.app.state.store

    # ------------------------------------------------------------------ HTTP

    def verify(self, signature: str, timestamp: str, nonce: str, client: str) -> None:
        if not self.token:
            raise NotFound("未配置公众号（UNIONBOT_WECHAT_TOKEN）。(WeChat is not configured.)")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            logger.warning("wechat: invalid signature from %s (timestamp=%r nonce=%r)", client, timestamp, nonce)
            raise Forbidden("签名校验失败。(Invalid WeChat signature.)") from None

    def handle(self, body: bytes, encrypted: bool, msg_signature: str, timestamp: str, nonce: str, client: str) -> str:
        """Reply XML (encrypted when the request was) or "success" for no reply."""
        t0 = time.monotonic()
        xml = body.decode("utf-8", errors="replace")
        if encrypted:
            if self.crypto is None:
                raise BadMessage("收到加密消息，但未配置 UNIONBOT_WECHAT_AES_KEY。(Encrypted message but no AES key configured.)")
            try:
                xml = self.crypto.decrypt_message(xml, msg_signature, timestamp, nonce)
            except (InvalidSignatureException, InvalidAppIdException):
                logger.warning("wechat: invalid msg_signature or app id from %s", client)
                raise Forbidden("消息签名校验失败。(Invalid WeChat message signature.)") from None
            except Exception as e:  # noqa: BLE001 - malformed ciphertext from the network
                raise BadMessage(f"无法解密消息。(Cannot decrypt the message: {type(e).__name__}.)") from None
        try:
            msg = parse_message(xml)
        except Exception as e:  # noqa: BLE001 - malformed XML from the network
            raise BadMessage(f"无法解析消息 XML。(Malformed message XML: {type(e).__name__}.)") from None
        text = self.reply_text(msg, deadline=t0 + self.reply_seconds)
        if text is None:
            return "success"
        reply = create_reply(_fit(text), msg).render()
        return self.crypto.encrypt_message(reply, nonce, timestamp) if encrypted and self.crypto else reply

    # -------------------------------------------------------------- messages

    def reply_text(self, msg: Any, deadline: float) -> str | None:
        if msg.type == "event":
            return WELCOME if getattr(msg, "event", "") == "subscribe" else None
        if msg.type != "text":
            return HELP
        content = (msg.content or "").strip()
        if content in CHECK_WORDS:
            return self._check(msg.source, deadline)
        msg_id = str(msg.id)
        if self.store.wechat_message(msg_id) is None:  # a new question, not WeChat delivering one again
            wait = self.limiter.check(f"openid:{msg.source}")
            if wait:
                logger.info("wechat: MsgId %s not asked, its sender is over the rate limit", msg_id)
                return SLOW_DOWN.format(seconds=wait)
        if self.store.claim_wechat_message(msg_id, msg.source, content):
            future = self.pool.submit(self._answer, msg_id, msg.source, content)
            with self._lock:
                self.futures[msg_id] = future
            future.add_done_callback(lambda _f: self._forget(msg_id))
        else:
            logger.info("wechat: duplicate delivery of MsgId %s", msg_id)
        return self._deliver(msg_id, deadline, holding=HOLDING)

    def _check(self, openid: str, deadline: float) -> str:
        pending = self.store.latest_wechat_message(openid)
        if pending is None:
            return NOTHING_PENDING
        return self._deliver(pending.msg_id, deadline, holding=STILL_WORKING) or NOTHING_PENDING

    def _deliver(self, msg_id: str, deadline: float, holding: str) -> str | None:
        """The answer if ready by the deadline and not yet sent; the holding text if not ready; None if sent."""
        with self._lock:
            future = self.futures.get(msg_id)
        if future is not None:
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except FutureTimeout:
                return holding
        row = self.store.wechat_message(msg_id)
        if row is None or row.delivered:
            return None
        if row.status == "pending":  # its worker died with a previous process
            self.store.finish_wechat_message(msg_id, "failed", LOST)
            row = self.store.wechat_message(msg_id)
            assert row is not None
        if not self.store.deliver_wechat_message(msg_id):
            return None
        return row.reply

    def _answer(self, msg_id: str, openid: str, question: str) -> str:
        """Runs in the pool: ask the assistant and keep the reply in SQLite."""
        status = "done"
        try:
            assistant = self.app.state.assistant
            if assistant is None:
                raise BotError("服务正在启动，请稍后再试。")
            answer = assistant.ask(question, session_id=self.store.wechat_session(openid), channel="wechat")
            if answer.session_id:
                self.store.set_wechat_session(openid, answer.session_id)
            reply = format_answer(answer)
        except InvalidQuery as e:
            reply = str(e).split("(", 1)[0].strip()
        except BotError as e:
            logger.warning("wechat: cannot answer MsgId %s: %s", msg_id, e)
            reply, status = SORRY, "failed"
        except Exception:
            logger.exception("wechat: answering MsgId %s failed", msg_id)
            reply, status = SORRY, "failed"
        self.store.finish_wechat_message(msg_id, status, reply)
        return reply

    def _forget(self, msg_id: str) -> None:
        with self._lock:
            self.futures.pop(msg_id, None)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def format_answer(answer: Any) -> str:
    """Answer text, then its numbered sources on their own lines."""
    lines = [answer.text.strip()]
    if answer.citations:
        lines.append("")
        lines.append("依据：")
        lines.extend(f"[{c.n}] {c.passage.label}" for c in answer.citations)
    if answer.next_steps:
        lines.append("")
        lines.append(answer.next_steps.strip())
    return "\n".join(lines)


def _fit(text: str, limit: int = MAX_REPLY_BYTES) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode("utf-8", errors="ignore") + "……"


def setup(app: FastAPI, settings: Settings) -> None:
    app.state.wechat = WechatService(app, settings)


def shutdown(app: FastAPI) -> None:
    app.state.wechat.close()


# ---------------------------------------------------------------------- routes

Sig = Annotated[str, Query(max_length=128)]
XML = {"content": {"application/xml": {"example": "<xml><ToUserName><![CDATA[oUser]]></ToUserName>…</xml>"}}}


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


@router.get(
    "/wechat",
    response_model=None,
    responses={
        200: {"content": {"text/plain": {"example": "echostr 原样返回"}}, "description": "签名正确时原样返回 echostr"},
        403: {"model": ErrorOut, "description": "签名校验失败"},
        404: {"model": ErrorOut, "description": "未配置公众号"},
        **errors(422),
    },
    summary="公众号服务器地址验证",
)
def wechat_verify(
    request: Request, signature: Sig = "", timestamp: Sig = "", nonce: Sig = "", echostr: Annotated[str, Query(max_length=512)] = ""
) -> PlainTextResponse:
    """WeChat's URL check: echo `echostr` when the signature matches the token."""
    request.app.state.wechat.verify(signature, timestamp, nonce, _client(request))
    return PlainTextResponse(echostr)


@router.post(
    "/wechat",
    response_class=Response,
    responses={
        200: XML,
        400: {"model": ErrorOut, "description": "消息无法解析"},
        403: {"model": ErrorOut, "description": "签名校验失败"},
        404: {"model": ErrorOut, "description": "未配置公众号"},
        **errors(413, 422),
    },
    summary="公众号消息回调",
)
async def wechat_message(
    request: Request,
    signature: Sig = "",
    timestamp: Sig = "",
    nonce: Sig = "",
    openid: Sig = "",
    encrypt_type: Annotated[str, Query(max_length=16)] = "raw",
    msg_signature: Sig = "",
) -> Response:
    """Text questions get a passive text reply (or a holding reply); subscribe gets a welcome; others get help."""
    service: WechatService = request.app.state.wechat
    client = _client(request)
    service.verify(signature, timestamp, nonce, client)
    body = await request.body()
    out = await run_in_threadpool(service.handle, body, encrypt_type == "aes", msg_signature, timestamp, nonce, client)
    return Response(out, media_type="text/plain" if out == "success" else "application/xml")
