"""Personal data (PIPL): officers export or delete everything stored about one person (admin token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from bot.api.deps import AdminDep, StoreDep
from bot.api.errors import NotFound
from bot.api.routes.feedback import AUTH
from bot.api.schemas import PersonData, PersonDeleted

router = APIRouter(prefix="/api/admin/person", tags=["admin"])

SessionQuery = Annotated[str | None, Query(max_length=64, description="会话编号（聊天页面和接口返回的 session_id）")]
OpenidQuery = Annotated[str | None, Query(max_length=128, description="微信 openid（只以加密哈希保存，请给原值）")]
NOTHING = "没有找到此人的任何记录。(Nothing is stored for that session id or openid.)"


@router.get("", response_model=PersonData, responses={404: {"description": "没有记录"}, **AUTH}, summary="导出个人数据")
def export_person(_: AdminDep, store: StoreDep, session_id: SessionQuery = None, openid: OpenidQuery = None) -> PersonData:
    """All conversations, ratings and WeChat messages of the person behind a session id or a WeChat openid."""
    data = store.person(session_id=session_id, openid=openid).as_dict()
    if not data["sessions"] and not data["wechat_messages"]:
        raise NotFound(NOTHING)
    return PersonData(**data)


@router.delete("", response_model=PersonDeleted, responses={404: {"description": "没有记录"}, **AUTH},
               summary="删除个人数据")
def delete_person(_: AdminDep, store: StoreDep, session_id: SessionQuery = None, openid: OpenidQuery = None) -> PersonDeleted:
    """Delete everything stored about the person behind a session id or a WeChat openid."""
    counts = store.forget(session_id=session_id, openid=openid)
    if not any(counts.values()):
        raise NotFound(NOTHING)
    return PersonDeleted(**counts)
