"""Console API: sign in and out, the signed-in officer, accounts (admins) and the audit log (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bot.api.errors import ApiError, NotFound
from bot.console.auth import (
    SESSION_COOKIE,
    COOKIE_PATH,
    AdminOfficerDep,
    OfficerDep,
    check_login_csrf,
    hash_password,
    sign_in,
    verify_password,
)
from bot.store.console import ConsoleError

router = APIRouter(prefix="/console/api", include_in_schema=False)


class Invalid(ApiError):
    status, code = 422, "invalid"


class Conflict(ApiError):
    status, code = 409, "conflict"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInIn(_In):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class AccountIn(_In):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[^\s<>\"'&]+$")
    password: str = Field(min_length=8, max_length=256)
    role: Literal["admin", "officer"] = "officer"


class AccountChange(_In):
    role: Literal["admin", "officer"] | None = None
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=256)


class PasswordChange(_In):
    current: str = Field(min_length=1, max_length=256)
    new: str = Field(min_length=8, max_length=256)


@router.post("/sign-in", dependencies=[Depends(check_login_csrf)])
def post_sign_in(body: SignInIn, request: Request, response: Response) -> dict[str, Any]:
    officer = sign_in(request, response, body.name.strip(), body.password)
    return {"name": officer.name, "role": officer.account.role}


@router.post("/sign-out")
def post_sign_out(officer: OfficerDep, request: Request, response: Response) -> dict[str, bool]:
    store = request.app.state.store
    store.console.end_session(officer.token_hash)
    store.console.audit(officer.name, "sign_out")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return {"ok": True}


@router.get("/me")
def me(officer: OfficerDep) -> dict[str, Any]:
    return {**officer.account.public(), "csrf": officer.csrf}


@router.post("/me/password")
def change_own_password(body: PasswordChange, officer: OfficerDep, request: Request) -> dict[str, bool]:
    store = request.app.state.store
    if not verify_password(officer.account.password_hash, body.current):
        raise Invalid("当前密码不正确。")
    store.console.update_account(officer.account.id, password_hash=hash_password(body.new))
    store.console.audit(officer.name, "password_change", officer.name)
    return {"ok": True}


@router.get("/accounts")
def list_accounts(_: AdminOfficerDep, request: Request) -> list[dict[str, Any]]:
    return [a.public() for a in request.app.state.store.console.accounts()]


@router.post("/accounts", status_code=201)
def add_account(body: AccountIn, officer: AdminOfficerDep, request: Request) -> dict[str, Any]:
    store = request.app.state.store
    try:
        account = store.console.add_account(body.name, hash_password(body.password), body.role)
    except ConsoleError as e:
        raise Conflict(str(e)) from e
    store.console.audit(officer.name, "account_add", account.name, {"role": account.role})
    return account.public()


@router.post("/accounts/{account_id}")
def change_account(account_id: int, body: AccountChange, officer: AdminOfficerDep, request: Request) -> dict[str, Any]:
    store = request.app.state.store
    if store.console.account(account_id) is None:
        raise NotFound("没有这个账号。")
    try:
        account = store.console.update_account(
            account_id, role=body.role, active=body.active,
            password_hash=hash_password(body.password) if body.password else None)
    except ConsoleError as e:
        raise Conflict(str(e)) from e
    changes = {k: v for k, v in body.model_dump(exclude_none=True).items() if k != "password"}
    if body.password:
        changes["password"] = "reset"
    store.console.audit(officer.name, "account_change", account.name, changes)
    return account.public()


@router.get("/audit")
def audit_log(
    _: AdminOfficerDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    total, items = request.app.state.store.console.audit_log(limit, offset, action or None)
    return {"total": total, "items": items}
