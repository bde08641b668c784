"""Console fixtures: a real app over the tiny corpus (fake embedder), an admin and an officer, signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.api.app import create_app
from bot.config import Settings
from bot.console.auth import CSRF_HEADER, hash_password
from bot.index import build_index
from bot.store import open_store

ADMIN = ("阿敏", "admin-password-1")
OFFICER = ("王干事", "officer-password-1")


@pytest.fixture
def console_settings(settings: Settings) -> Settings:
    build_index(settings)
    store = open_store(settings)
    store.console.add_account(ADMIN[0], hash_password(ADMIN[1]), "admin")
    store.console.add_account(OFFICER[0], hash_password(OFFICER[1]), "officer")
    store.close()
    return settings


@pytest.fixture
def app_client(console_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(console_settings, background_load=False)) as c:
        yield c


def login_token(client: TestClient) -> str:
    page = client.get("/console/login")
    assert page.status_code == 200
    m = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert m
    return m.group(1)


def sign_in(client: TestClient, name: str, password: str) -> str:
    """Sign in like the page does; returns the session's CSRF token."""
    token = login_token(client)
    r = client.post("/console/api/sign-in", json={"name": name, "password": password}, headers={CSRF_HEADER: token})
    assert r.status_code == 200, r.text
    return str(client.get("/console/api/me").json()["csrf"])


class Signed:
    """A client signed in as one account; post/delete send the CSRF token."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client, self.csrf = client, csrf

    def get(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)

    def post(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.post(url, headers={CSRF_HEADER: self.csrf, **kw.pop("headers", {})}, **kw)

    def delete(self, url: str, **kw):  # type: ignore[no-untyped-def]
        return self.client.delete(url, headers={CSRF_HEADER: self.csrf, **kw.pop("headers", {})}, **kw)


@pytest.fixture
def admin(app_client: TestClient) -> Signed:
    return Signed(app_client, sign_in(app_client, *ADMIN))


@pytest.fixture
def officer(console_settings: Settings, app_client: TestClient) -> Iterator[Signed]:
    """A second browser (its own cookies) on the same app, signed in as an officer."""
    with TestClient(app_client.app) as c:
        yield Signed(c, sign_in(c, *OFFICER))


def docs_dir(settings: Settings) -> Path:
    return Path(settings.documents_dir)
