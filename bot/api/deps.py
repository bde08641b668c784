"""Dependencies shared by the routers: the loaded Assistant, the conversation store, admin token, kiosk keys and rate limits."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Generic, TypeAlias, TypeVar

from fastapi import Depends, Header, Request

from bot.api.errors import Forbidden, RateLimited, ServiceLoading, Unauthorized
from bot.assistant import Assistant
from bot.config import Settings
from bot.store import Store

logger = logging.getLogger(__name__)

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
ADDRESS_SHARE = 5  # a client address gets this many times the per-session rate: workers may share one NAT address
MAX_KEYS = 20_000  # clients one rate limiter remembers (about 1 kB each); the least recently seen go first


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_assistant(request: Request) -> Assistant:
    """The Assistant loaded at start-up; 503 while it is still loading or when loading failed."""
    assistant = request.app.state.assistant
    if assistant is None:
        error = request.app.state.load_error
        if error is not None:
            raise ServiceLoading(f"索引不可用：{error}", headers={"Retry-After": "30"})
        raise ServiceLoading("服务正在加载索引，请稍后再试。(The index is still loading; retry shortly.)", headers={"Retry-After": "5"})
    return assistant


def get_store(request: Request) -> Store:
    return request.app.state.store


SettingsDep = Annotated[Settings, Depends(get_settings)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
StoreDep = Annotated[Store, Depends(get_store)]


def require_admin(
    settings: SettingsDep,
    authorization: Annotated[str | None, Header(description="Bearer <admin token>")] = None,
    x_admin_token: Annotated[str | None, Header(description="或直接放管理员令牌")] = None,
) -> None:
    """Admin token from `Authorization: Bearer ...` or `X-Admin-Token`; admin routes are off when none is set."""
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise Forbidden("未配置管理员令牌（UNIONBOT_ADMIN_TOKEN），管理接口已关闭。(Admin endpoints are disabled: set UNIONBOT_ADMIN_TOKEN.)")
    given = x_admin_token or ""
    if authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if not given or not secrets.compare_digest(given.encode(), settings.admin_token.get_secret_value().encode()):
        raise Unauthorized("管理员令牌无效。(Missing or wrong admin token.)", headers={"WWW-Authenticate": "Bearer"})


AdminDep = Annotated[None, Depends(require_admin)]


class KioskKeys:
    """Station API keys from a JSON file `{"key": "station name"}`, re-read when the file changes."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._mtime: float | None = None
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def station(self, key: str) -> str | None:
        """The station owning this key, or None (compared in constant time)."""
        keys = self._current()
        found = None
        for k, name in keys.items():
            if secrets.compare_digest(k.encode(), key.encode()):
                found = name
        return found

    def _current(self) -> dict[str, str]:
        if self.path is None:
            return {}
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            logger.error("kiosk keys file %s does not exist", self.path)
            return {}
        with self._lock:
            if mtime != self._mtime:
                try:
                    data = json.loads(self.path.read_text(encoding="utf-8"))
                    self._keys = {str(k): str(v) for k, v in data.items() if k}
                except (ValueError, AttributeError) as e:
                    logger.error("kiosk keys file %s is not a JSON object {key: station}: %s", self.path, e)
                    self._keys = {}
                self._mtime = mtime
            return self._keys


class RateLimiter:
    """Sliding one-minute windows per key, in memory; idle keys are forgotten and at most max_keys are kept."""

    def __init__(self, per_minute: int, window: float = 60.0, max_keys: int = MAX_KEYS) -> None:
        self.per_minute = per_minute
        self.window = window
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()  # least recently hit first
        self._lock = threading.Lock()

    def check(self, key: str) -> int:
        """Record a request; 0 if allowed, else the seconds to wait before retrying."""
        return self.check_all({key: self.per_minute})

    def check_all(self, limits: Mapping[str, int]) -> int:
        """Record a request in every bucket {key: per minute} if all allow it; else the seconds until they all do.

        A limit of 0 (or less) means no limit for that bucket. A refused request is recorded nowhere.
        """
        active = {key: limit for key, limit in limits.items() if limit > 0}
        if not active:
            return 0
        now = time.monotonic()
        with self._lock:
            self._forget_idle(now)
            wait = 0.0
            for key, limit in active.items():
                q = self._hits.get(key)
                if q is None:
                    continue
                while q and now - q[0] >= self.window:
                    q.popleft()
                if len(q) >= limit:  # allowed again when the hit `limit` places back leaves the window
                    wait = max(wait, self.window - (now - q[-limit]))
            if wait > 0:
                return max(1, math.ceil(wait))
            for key in active:
                self._hits.setdefault(key, deque()).append(now)
                self._hits.move_to_end(key)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return 0

    def __len__(self) -> int:
        return len(self._hits)

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose newest hit has left the window (they are first: ordered by their newest hit)."""
        while self._hits:
            key, q = next(iter(self._hits.items()))
            if q and now - q[-1] < self.window:
                return
            del self._hits[key]


def trusted_networks(entries: list[str]) -> tuple[IPNetwork, ...]:
    """settings.trusted_proxies parsed: "10.0.0.2" is the network 10.0.0.2/32."""
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _trusted(host: str, networks: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)


def client_address(request: Request) -> str:
    """The socket peer; when the peer is a trusted proxy, the nearest X-Forwarded-For hop that is not one.

    Hops are read right to left (each proxy appends the address it saw), so a client cannot choose its
    address by sending its own X-Forwarded-For: the entry our proxy appended comes first.
    """
    peer = request.client.host if request.client else ""
    networks: tuple[IPNetwork, ...] = request.app.state.trusted_networks
    if not networks or not _trusted(peer, networks):
        return peer or "unknown"
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop[:64]
    return hops[0][:64] if hops else peer


def limit_chat(request: Request, session_id: str | None) -> None:
    """Public chat limits: per session (when given) and per client address; 429 when either is spent."""
    rate = request.app.state.settings.public_rate_per_minute
    limits = {f"address:{client_address(request)}": rate * ADDRESS_SHARE}
    if session_id:
        limits[f"session:{session_id}"] = rate
    wait = request.app.state.public_limiter.check_all(limits)
    if wait:
        raise RateLimited(
            f"提问太频繁了，请 {wait} 秒后再试。(Too many questions; retry in {wait} s.)", headers={"Retry-After": str(wait)}
        )


def kiosk_station(
    request: Request,
    store: StoreDep,
    x_api_key: Annotated[str | None, Header(description="本站点的 API 密钥")] = None,
) -> str:
    """Authenticate a kiosk by X-API-Key, apply its rate limit, and count its use; returns the station name."""
    if not x_api_key:
        raise Unauthorized("缺少 X-API-Key 请求头。(Missing X-API-Key header.)")
    station = request.app.state.kiosk_keys.station(x_api_key) or store.console.kiosk_station(
        hashlib.sha256(x_api_key.encode()).hexdigest())  # keys made in the console are stored as hashes
    if station is None:
        logger.warning("kiosk request with unknown key from %s", request.client.host if request.client else "?")
        raise Unauthorized("X-API-Key 无效。(Unknown X-API-Key.)")
    wait = request.app.state.kiosk_limiter.check(f"station:{station}")
    if wait:
        store.count_kiosk(station, rate_limited=True)
        raise RateLimited(
            f"请求过于频繁，请 {wait} 秒后再试。(Rate limit exceeded; retry in {wait} s.)", headers={"Retry-After": str(wait)}
        )
    store.count_kiosk(station)
    return station


StationDep = Annotated[str, Depends(kiosk_station)]


V = TypeVar("V")


class LruCache(Generic[V]):
    """A small thread-safe LRU map (responses over the read-only index, keyed by the validated request)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: V) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


def get_search_cache(request: Request) -> LruCache:  # type: ignore[type-arg]
    return request.app.state.search_cache


SearchCacheDep = Annotated[LruCache, Depends(get_search_cache)]  # type: ignore[type-arg]
