"""Console accounts: sign-in with CSRF, rate-limited failures, roles, sessions, the audit log, the CLI."""

from __future__ import annotations

from click.testing import CliRunner
from fastapi.testclient import TestClient

from bot.cli import cli
from bot.config import Settings
from bot.console.auth import CSRF_HEADER, SESSION_COOKIE
from bot.store import open_store

from .conftest import ADMIN, OFFICER, Signed, login_token


def test_signed_out_visitors_are_sent_to_sign_in(app_client: TestClient) -> None:
    for path in ("/console", "/console/documents", "/console/review", "/console/accounts"):
        r = app_client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/console/login?next=/console"), path
    assert app_client.get("/console/api/documents").status_code == 401
    page = app_client.get("/console/login")
    assert "登录" in page.text and "Content-Security-Policy" in page.headers


def test_sign_in_sets_an_httponly_samesite_cookie_and_sign_out_ends_the_session(admin: Signed) -> None:
    cookie = next(c for c in admin.client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.path == "/console" and cookie.has_nonstandard_attr("HttpOnly")
    assert admin.client.get("/console", follow_redirects=False).status_code == 200
    assert admin.post("/console/api/sign-out", json={}).status_code == 200
    assert admin.client.get("/console/api/me").status_code == 401


def test_state_changing_requests_without_the_csrf_token_are_rejected(admin: Signed) -> None:
    c = admin.client
    r = c.post("/console/api/accounts", json={"name": "新人", "password": "password-123", "role": "officer"})
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    r = c.post("/console/api/accounts", json={"name": "新人", "password": "password-123", "role": "officer"},
               headers={CSRF_HEADER: "wrong"})
    assert r.status_code == 403
    r = admin.post("/console/api/accounts", json={"name": "新人", "password": "password-123", "role": "officer"},
                   headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert c.delete("/console/api/files?path=x.md").status_code == 403
    assert admin.post("/console/api/accounts", json={"name": "新人", "password": "password-123", "role": "officer"}).status_code == 201


def test_the_sign_in_form_needs_its_own_token(app_client: TestClient) -> None:
    r = app_client.post("/console/api/sign-in", json={"name": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 403 and r.json()["error"] == "csrf"
    token = login_token(app_client)
    r = app_client.post("/console/api/sign-in", json={"name": ADMIN[0], "password": ADMIN[1]},
                        headers={CSRF_HEADER: token + "x"})
    assert r.status_code == 403


def test_failed_sign_ins_are_rate_limited_per_name_even_with_the_right_password(app_client: TestClient) -> None:
    token = login_token(app_client)
    for _ in range(5):
        r = app_client.post("/console/api/sign-in", json={"name": OFFICER[0], "password": "wrong-password"},
                            headers={CSRF_HEADER: token})
        assert r.status_code == 401
    r = app_client.post("/console/api/sign-in", json={"name": OFFICER[0], "password": OFFICER[1]},
                        headers={CSRF_HEADER: token})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # another account from the same address is still allowed (the address limit is higher)
    r = app_client.post("/console/api/sign-in", json={"name": ADMIN[0], "password": ADMIN[1]}, headers={CSRF_HEADER: token})
    assert r.status_code == 200


def test_failed_sign_ins_are_rate_limited_per_address(console_settings: Settings) -> None:
    from bot.api.app import create_app

    settings = console_settings.model_copy(update={"console_failures_per_address": 3})
    with TestClient(create_app(settings, background_load=False)) as c:
        token = login_token(c)
        for n in range(3):
            assert c.post("/console/api/sign-in", json={"name": f"guess{n}", "password": "x"},
                          headers={CSRF_HEADER: token}).status_code == 401
        r = c.post("/console/api/sign-in", json={"name": ADMIN[0], "password": ADMIN[1]}, headers={CSRF_HEADER: token})
        assert r.status_code == 429


def test_officers_cannot_reach_account_or_key_management(officer: Signed) -> None:
    for path in ("/console/accounts", "/console/keys", "/console/audit"):
        r = officer.get(path, follow_redirects=False)
        assert r.status_code == 403 and "仅限管理员" in r.text or "无权访问" in r.text, path
    assert officer.get("/console/api/accounts").status_code == 403
    assert officer.get("/console/api/kiosk-keys").status_code == 403
    assert officer.get("/console/api/audit").status_code == 403
    assert officer.post("/console/api/kiosk-keys", json={"station": "x"}).status_code == 403
    assert officer.get("/console/documents").status_code == 200
    assert "账号管理" not in officer.get("/console").text


def test_accounts_are_managed_and_audited(admin: Signed, app_client: TestClient) -> None:
    r = admin.post("/console/api/accounts", json={"name": "李四", "password": "password-li", "role": "officer"})
    assert r.status_code == 201
    li = r.json()["id"]
    assert admin.post("/console/api/accounts", json={"name": "李四", "password": "password-li"}).status_code == 409
    assert admin.post(f"/console/api/accounts/{li}", json={"active": False}).status_code == 200
    me = admin.get("/console/api/me").json()
    r = admin.post(f"/console/api/accounts/{me['id']}", json={"role": "officer"})
    assert r.status_code == 409  # the last admin stays
    items = admin.get("/console/api/audit").json()["items"]
    actions = [(a["account"], a["action"], a["target"]) for a in items]
    assert (ADMIN[0], "account_add", "李四") in actions
    assert (ADMIN[0], "account_change", "李四") in actions
    assert (ADMIN[0], "sign_in", "testclient") in actions
    assert all("password" not in str(a["detail"]) or a["detail"].get("password") == "reset" for a in items)


def test_a_disabled_account_is_signed_out(admin: Signed, officer: Signed) -> None:
    me = officer.get("/console/api/me").json()
    assert admin.post(f"/console/api/accounts/{me['id']}", json={"active": False}).status_code == 200
    assert officer.get("/console/api/me").status_code == 401


def test_cli_user_add_creates_the_first_admin(settings: Settings) -> None:
    env = {"UNIONBOT_DOCUMENTS_DIR": str(settings.documents_dir), "UNIONBOT_INDEX_DIR": str(settings.index_dir),
           "UNIONBOT_STATE_DB": str(settings.state_db)}
    result = CliRunner().invoke(cli, ["user", "add", "主席", "--role", "admin"], input="first-admin-pw\n", env=env)
    assert result.exit_code == 0, result.output
    assert "已创建账号 主席" in result.output
    short = CliRunner().invoke(cli, ["user", "add", "短", "--password-stdin"], input="short\n", env=env)
    assert short.exit_code != 0 and "至少 8 位" in short.output
    again = CliRunner().invoke(cli, ["user", "add", "主席"], input="first-admin-pw\n", env=env)
    assert again.exit_code != 0 and "已存在" in again.output
    store = open_store(settings)
    try:
        account = store.console.account_by_name("主席")
        assert account is not None and account.role == "admin"
        assert account.password_hash.startswith("$argon2id$")
    finally:
        store.close()
