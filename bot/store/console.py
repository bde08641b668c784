"""The officers' console's data: accounts and their sessions, failed sign-ins, the audit log, reviews of turns,
hand-off requests and replies, and kiosk station keys. It shares the conversation store's database."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.errors import BotError
from bot.store.models import (
    AccountRow,
    AuditRow,
    ChatSession,
    ConsoleSessionRow,
    FeedbackRow,
    HandoffReplyRow,
    HandoffRow,
    KioskKeyRow,
    KioskUsageRow,
    ReviewRow,
    SignInFailureRow,
    TurnRow,
)

if TYPE_CHECKING:
    from bot.store.conversations import Store

ROLES = ("admin", "officer")
HANDOFF_STATES = ("open", "claimed", "answered", "closed")


class ConsoleError(BotError):
    """A console change that cannot be made (name taken, last admin, request already claimed)."""


@dataclass(frozen=True)
class Account:
    """An officer's account (the password hash stays inside the store and the auth module)."""

    id: int
    name: str
    role: str
    active: bool
    created_at: float
    last_sign_in: float | None
    password_hash: str = ""

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role, "active": self.active,
                "created_at": self.created_at, "last_sign_in": self.last_sign_in}


@dataclass(frozen=True)
class TurnQuery:
    """Filters of the review list; None means any."""

    since: float | None = None
    until: float | None = None
    channel: str | None = None
    rating: str | None = None  # up | down | none
    outcome: str | None = None  # refused | answered
    queue: bool = False  # only thumbs-down or refused turns not yet handled
    text: str | None = None


def _account(r: AccountRow) -> Account:
    return Account(r.id, r.name, r.role, bool(r.active), r.created_at, r.last_sign_in, r.password_hash)


def day_of(ts: float) -> str:
    """The local calendar day of a Unix time, YYYY-MM-DD."""
    return time.strftime("%Y-%m-%d", time.localtime(ts))


class ConsoleStore:
    """Console tables, reached through the conversation store (`store.console`)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db = store._db  # one engine and transaction style for both

    # ---------------------------------------------------------------- accounts

    def add_account(self, name: str, password_hash: str, role: str, now: float | None = None) -> Account:
        if role not in ROLES:
            raise ConsoleError(f"角色只能是 admin 或 officer，而不是 {role!r}。")
        try:
            with self._db() as db:
                row = AccountRow(name=name, password_hash=password_hash, role=role, active=True,
                                 created_at=time.time() if now is None else now, last_sign_in=None)
                db.add(row)
                db.flush()
                return _account(row)
        except IntegrityError:
            raise ConsoleError(f"账号“{name}”已存在。(An account with that name exists.)") from None

    def account_by_name(self, name: str) -> Account | None:
        with self._db() as db:
            row = db.scalars(select(AccountRow).where(AccountRow.name == name)).first()
        return _account(row) if row else None

    def account(self, account_id: int) -> Account | None:
        with self._db() as db:
            row = db.get(AccountRow, account_id)
        return _account(row) if row else None

    def accounts(self) -> list[Account]:
        with self._db() as db:
            return [_account(r) for r in db.scalars(select(AccountRow).order_by(AccountRow.name))]

    def update_account(self, account_id: int, role: str | None = None, active: bool | None = None,
                       password_hash: str | None = None) -> Account:
        """Change role, active flag or password; refuses to leave no active admin. Ends the account's sessions
        when it is disabled or its password changes."""
        with self._db() as db:
            row = db.get(AccountRow, account_id)
            if row is None:
                raise ConsoleError("没有这个账号。(No such account.)")
            if role is not None:
                if role not in ROLES:
                    raise ConsoleError("角色只能是 admin 或 officer。")
                row.role = role
            if active is not None:
                row.active = active
            if password_hash is not None:
                row.password_hash = password_hash
            db.flush()
            admins = db.scalar(select(func.count()).select_from(AccountRow)
                               .where(AccountRow.role == "admin", AccountRow.active.is_(True)))
            if not admins:
                raise ConsoleError("至少要保留一个可用的管理员账号。(At least one active admin must remain.)")
            if active is False or password_hash is not None:
                db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.account_id == account_id))
            return _account(row)

    def signed_in(self, account_id: int, now: float | None = None) -> None:
        with self._db() as db:
            db.execute(update(AccountRow).where(AccountRow.id == account_id)
                       .values(last_sign_in=time.time() if now is None else now))

    # ---------------------------------------------------------------- sessions

    def add_session(self, token_hash: str, account_id: int, csrf: str, expires_at: float) -> None:
        now = time.time()
        with self._db() as db:
            db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at < now))
            db.add(ConsoleSessionRow(token_hash=token_hash, account_id=account_id, csrf=csrf, created_at=now,
                                     expires_at=expires_at))

    def session_account(self, token_hash: str, now: float | None = None) -> tuple[Account, str] | None:
        """The active account of an unexpired session, and the session's CSRF token."""
        now = time.time() if now is None else now
        with self._db() as db:
            found = db.execute(
                select(ConsoleSessionRow, AccountRow).join(AccountRow, AccountRow.id == ConsoleSessionRow.account_id)
                .where(ConsoleSessionRow.token_hash == token_hash, ConsoleSessionRow.expires_at > now,
                       AccountRow.active.is_(True))
            ).first()
        return (_account(found[1]), found[0].csrf) if found else None

    def end_session(self, token_hash: str) -> None:
        with self._db() as db:
            db.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.token_hash == token_hash))

    # ------------------------------------------------------- failed sign-ins

    def add_failure(self, keys: list[str], now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._db() as db:
            db.execute(delete(SignInFailureRow).where(SignInFailureRow.at < now - 86400))
            db.add_all(SignInFailureRow(key=k[:200], at=now) for k in keys)

    def failures(self, key: str, since: float) -> tuple[int, float | None]:
        """Failures of this key since a time, and the oldest of them."""
        with self._db() as db:
            count, oldest = db.execute(select(func.count(), func.min(SignInFailureRow.at))
                                       .where(SignInFailureRow.key == key[:200], SignInFailureRow.at >= since)).one()
        return int(count or 0), oldest

    def clear_failures(self, key: str) -> None:
        with self._db() as db:
            db.execute(delete(SignInFailureRow).where(SignInFailureRow.key == key[:200]))

    # -------------------------------------------------------------- audit log

    def audit(self, account: str, action: str, target: str = "", detail: dict[str, Any] | None = None,
              now: float | None = None) -> None:
        with self._db() as db:
            db.add(AuditRow(at=time.time() if now is None else now, account=account, action=action,
                            target=target[:300], detail=detail or {}))

    def audit_log(self, limit: int = 100, offset: int = 0, action: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        query = select(AuditRow)
        if action:
            query = query.where(AuditRow.action == action)
        with self._db() as db:
            total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = db.scalars(query.order_by(AuditRow.id.desc()).limit(limit).offset(offset)).all()
        return int(total), [{"id": r.id, "at": r.at, "account": r.account, "action": r.action, "target": r.target,
                             "detail": r.detail} for r in rows]

    # ----------------------------------------------------------------- review

    def turns(self, q: TurnQuery, limit: int = 50, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Turns of every channel, newest first, with their latest rating and review."""
        down = exists().where(FeedbackRow.message_id == TurnRow.message_id, FeedbackRow.rating == "down")
        up = exists().where(FeedbackRow.message_id == TurnRow.message_id, FeedbackRow.rating == "up")
        handled = exists().where(ReviewRow.message_id == TurnRow.message_id, ReviewRow.status == "handled")
        query = select(TurnRow, ChatSession).join(ChatSession, ChatSession.id == TurnRow.session_id)
        conditions = []
        if q.since is not None:
            conditions.append(TurnRow.created_at >= q.since)
        if q.until is not None:
            conditions.append(TurnRow.created_at < q.until)
        if q.channel:
            conditions.append(ChatSession.channel == q.channel)
        if q.rating == "down":
            conditions.append(down)
        elif q.rating == "up":
            conditions.append(up)
        elif q.rating == "none":
            conditions.append(and_(~down, ~up))
        if q.outcome == "refused":
            conditions.append(TurnRow.refused.is_(True))
        elif q.outcome == "answered":
            conditions.append(TurnRow.refused.is_(False))
        if q.queue:
            conditions.append(and_(or_(down, TurnRow.refused.is_(True)), ~handled))
        if q.text:
            conditions.append(or_(TurnRow.question.contains(q.text), TurnRow.answer.contains(q.text)))
        query = query.where(*conditions)
        with self._db() as db:
            total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = db.execute(query.order_by(TurnRow.created_at.desc()).limit(limit).offset(offset)).all()
            ids = [t.message_id for t, _ in rows]
            ratings: dict[str, dict[str, Any]] = {}
            for f in db.scalars(select(FeedbackRow).where(FeedbackRow.message_id.in_(ids)).order_by(FeedbackRow.id)):
                ratings[f.message_id] = {"rating": f.rating, "comment": f.comment}
            reviews = {r.message_id: r for r in db.scalars(select(ReviewRow).where(ReviewRow.message_id.in_(ids)))}
        out = []
        for t, s in rows:
            r = reviews.get(t.message_id)
            out.append({
                "message_id": t.message_id, "session_id": t.session_id, "channel": s.channel, "station": s.station,
                "question": t.question, "resolved_question": t.resolved_question, "answer": t.answer,
                "citations": list(t.citations), "refused": bool(t.refused), "reason": t.reason, "mode": t.mode,
                "created_at": t.created_at, "rating": ratings.get(t.message_id, {}).get("rating"),
                "comment": ratings.get(t.message_id, {}).get("comment", ""),
                "review": {"status": r.status, "note": r.note, "account": r.account, "updated_at": r.updated_at}
                if r else None,
            })
        return int(total), out

    def set_review(self, message_id: str, status: str, note: str, account: str) -> None:
        now = time.time()
        with self._db() as db:
            if db.get(TurnRow, message_id) is None:
                raise ConsoleError("找不到这条问答。(No such turn.)")
            row = db.get(ReviewRow, message_id)
            if row is None:
                db.add(ReviewRow(message_id=message_id, status=status, note=note, account=account, updated_at=now))
            else:
                row.status, row.note, row.account, row.updated_at = status, note, account, now

    # ---------------------------------------------------------------- hand-off

    def add_handoff(self, session_id: str, question: str, contact: str, message_id: str | None = None,
                    max_open: int = 3) -> int:
        """A worker's request for an officer; at most max_open unanswered requests per conversation."""
        now = time.time()
        with self._db() as db:
            if db.get(ChatSession, session_id) is None:
                raise ConsoleError("找不到这个对话，请先提问后再转人工。(Unknown session.)")
            pending = db.scalar(select(func.count()).select_from(HandoffRow).where(
                HandoffRow.session_id == session_id, HandoffRow.status.in_(("open", "claimed"))))
            if (pending or 0) >= max_open:
                raise ConsoleError("您已有待处理的转人工请求，请耐心等待工会干部回复。")
            row = HandoffRow(session_id=session_id, message_id=message_id, question=question, contact=contact,
                             status="open", claimed_by=None, created_at=now, updated_at=now)
            db.add(row)
            db.execute(update(ChatSession).where(ChatSession.id == session_id).values(updated_at=now))
            db.flush()
            return row.id

    def session_handoffs(self, session_id: str) -> list[dict[str, Any]]:
        """A conversation's requests with their replies (for the worker's chat page)."""
        with self._db() as db:
            rows = db.scalars(select(HandoffRow).where(HandoffRow.session_id == session_id)
                              .order_by(HandoffRow.created_at)).all()
            return [self._handoff(db, r) for r in rows]

    def handoffs(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = select(HandoffRow, ChatSession).join(ChatSession, ChatSession.id == HandoffRow.session_id)
        if status:
            query = query.where(HandoffRow.status == status)
        with self._db() as db:
            rows = db.execute(query.order_by(HandoffRow.created_at.desc()).limit(limit)).all()
            return [{**self._handoff(db, h), "channel": s.channel} for h, s in rows]

    def handoff(self, handoff_id: int) -> dict[str, Any] | None:
        """One request with its replies and the conversation it came from."""
        with self._db() as db:
            row = db.get(HandoffRow, handoff_id)
            if row is None:
                return None
            turns = db.scalars(select(TurnRow).where(TurnRow.session_id == row.session_id)
                               .order_by(TurnRow.created_at)).all()
            out = self._handoff(db, row)
        out["conversation"] = [{"message_id": t.message_id, "question": t.question, "answer": t.answer,
                                "refused": bool(t.refused), "created_at": t.created_at} for t in turns]
        return out

    @staticmethod
    def _handoff(db: Any, r: HandoffRow) -> dict[str, Any]:
        replies = db.scalars(select(HandoffReplyRow).where(HandoffReplyRow.handoff_id == r.id)
                             .order_by(HandoffReplyRow.id)).all()
        return {"id": r.id, "session_id": r.session_id, "message_id": r.message_id, "question": r.question,
                "contact": r.contact, "status": r.status, "claimed_by": r.claimed_by, "created_at": r.created_at,
                "updated_at": r.updated_at,
                "replies": [{"id": x.id, "author": x.author, "text": x.text, "created_at": x.created_at}
                            for x in replies]}

    def claim_handoff(self, handoff_id: int, account: str) -> None:
        """Take an open request (one officer at a time)."""
        with self._db() as db:
            done = db.execute(update(HandoffRow).where(HandoffRow.id == handoff_id, HandoffRow.status == "open")
                              .values(status="claimed", claimed_by=account, updated_at=time.time())).rowcount
            if not done:
                row = db.get(HandoffRow, handoff_id)
                if row is None:
                    raise ConsoleError("没有这个转人工请求。")
                if row.claimed_by != account:
                    raise ConsoleError(f"该请求已由 {row.claimed_by or '其他人'} 处理。")

    def reply_handoff(self, handoff_id: int, account: str, text: str) -> int:
        now = time.time()
        with self._db() as db:
            row = db.get(HandoffRow, handoff_id)
            if row is None:
                raise ConsoleError("没有这个转人工请求。")
            if row.claimed_by not in (None, account) and row.status == "claimed":
                raise ConsoleError(f"该请求已由 {row.claimed_by} 认领。")
            reply = HandoffReplyRow(handoff_id=handoff_id, author=account, text=text, created_at=now)
            db.add(reply)
            row.status, row.claimed_by, row.updated_at = "answered", row.claimed_by or account, now
            db.execute(update(ChatSession).where(ChatSession.id == row.session_id).values(updated_at=now))
            db.flush()
            return reply.id

    def close_handoff(self, handoff_id: int) -> None:
        with self._db() as db:
            if not db.execute(update(HandoffRow).where(HandoffRow.id == handoff_id)
                              .values(status="closed", updated_at=time.time())).rowcount:
                raise ConsoleError("没有这个转人工请求。")

    # -------------------------------------------------------------- kiosk keys

    def add_kiosk_key(self, station: str, key_hash: str, hint: str, created_by: str) -> int:
        with self._db() as db:
            row = KioskKeyRow(station=station, key_hash=key_hash, hint=hint, created_by=created_by,
                              created_at=time.time(), revoked_at=None)
            db.add(row)
            db.flush()
            return row.id

    def kiosk_keys(self) -> list[dict[str, Any]]:
        with self._db() as db:
            rows = db.scalars(select(KioskKeyRow).order_by(KioskKeyRow.created_at.desc())).all()
        return [{"id": r.id, "station": r.station, "hint": r.hint, "created_by": r.created_by,
                 "created_at": r.created_at, "revoked_at": r.revoked_at} for r in rows]

    def revoke_kiosk_key(self, key_id: int) -> str:
        """Revoke a key; returns its station."""
        with self._db() as db:
            row = db.get(KioskKeyRow, key_id)
            if row is None:
                raise ConsoleError("没有这个密钥。")
            row.revoked_at = row.revoked_at or time.time()
            return row.station

    def kiosk_station(self, key_hash: str) -> str | None:
        """The station of an unrevoked key, by the key's sha256."""
        with self._db() as db:
            return db.scalar(select(KioskKeyRow.station).where(KioskKeyRow.key_hash == key_hash,
                                                               KioskKeyRow.revoked_at.is_(None)))

    # --------------------------------------------------------------- dashboard

    def dashboard(self, since: float) -> dict[str, Any]:
        """Questions per day and channel, refusals, ratings, hand-offs by state, kiosk use, most cited documents
        (a document counts once per answer)."""
        with self._db() as db:
            turns = db.execute(select(TurnRow.created_at, TurnRow.refused, TurnRow.citations, ChatSession.channel)
                               .join(ChatSession, ChatSession.id == TurnRow.session_id)
                               .where(TurnRow.created_at >= since)).all()
            ratings = dict(db.execute(select(FeedbackRow.rating, func.count()).where(FeedbackRow.created_at >= since)
                                      .group_by(FeedbackRow.rating)).all())
            states = dict(db.execute(select(HandoffRow.status, func.count()).group_by(HandoffRow.status)).all())
            kiosk = db.execute(select(KioskUsageRow.station, func.sum(KioskUsageRow.requests),
                                      func.sum(KioskUsageRow.rate_limited))
                               .where(KioskUsageRow.day >= day_of(since)).group_by(KioskUsageRow.station)).all()
        per_day: dict[str, Counter[str]] = {}
        cited: Counter[str] = Counter()
        labels: dict[str, str] = {}
        refused = 0
        for created, was_refused, citations, channel in turns:
            per_day.setdefault(day_of(created), Counter())[channel] += 1
            refused += bool(was_refused)
            for doc_id in {str(c.get("passage_id", "")).split(":")[0]: c for c in citations or []}.items():
                cited[doc_id[0]] += 1
                labels.setdefault(doc_id[0], str(doc_id[1].get("label") or doc_id[0]))
        return {
            "questions": len(turns),
            "refused": refused,
            "per_day": {d: dict(c) for d, c in sorted(per_day.items())},
            "ratings": {"up": int(ratings.get("up", 0)), "down": int(ratings.get("down", 0))},
            "handoffs": {s: int(states.get(s, 0)) for s in HANDOFF_STATES},
            "kiosk": sorted(({"station": s, "requests": int(r or 0), "rate_limited": int(x or 0)} for s, r, x in kiosk),
                            key=lambda k: -k["requests"]),
            "cited": [{"doc_id": d, "label": labels[d], "count": n} for d, n in cited.most_common(10)],
        }
