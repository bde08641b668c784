"""Console API for kiosk station keys (admins): create (the key is shown once), list, revoke. Only the key's
sha256 is stored; the keys file of settings.kiosk_keys_file keeps working beside these."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from bot.api.errors import NotFound
from bot.console.auth import AdminOfficerDep
from bot.store.console import ConsoleError

router = APIRouter(prefix="/console/api/kiosk-keys", include_in_schema=False)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    station: str = Field(min_length=1, max_length=128)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@router.get("")
def kiosk_keys(_: AdminOfficerDep, request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"keys": request.app.state.store.console.kiosk_keys(),
            "keys_file": str(settings.kiosk_keys_file) if settings.kiosk_keys_file else None}


@router.post("", status_code=201)
def create_key(body: KeyIn, officer: AdminOfficerDep, request: Request) -> dict[str, Any]:
    """A new random key for a station, returned this once."""
    key = "ks_" + secrets.token_urlsafe(24)
    station = " ".join(body.station.split())
    key_id = request.app.state.store.console.add_kiosk_key(station, key_hash(key), key[:7], officer.name)
    request.app.state.store.console.audit(officer.name, "kiosk_key_create", station, {"id": key_id, "hint": key[:7]})
    return {"id": key_id, "station": station, "key": key, "hint": key[:7]}


@router.post("/{key_id}/revoke")
def revoke_key(key_id: int, officer: AdminOfficerDep, request: Request) -> dict[str, Any]:
    try:
        station = request.app.state.store.console.revoke_kiosk_key(key_id)
    except ConsoleError as e:
        raise NotFound(str(e)) from e
    request.app.state.store.console.audit(officer.name, "kiosk_key_revoke", station, {"id": key_id})
    return {"id": key_id, "revoked": True}
