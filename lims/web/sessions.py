"""Server-side sessions in Redis: the cookie holds only a random id, Redis holds the data.

Why not Flask's signed cookie: a captured cookie must stop working the moment its session
ends (logout, an administrator's revocation, a disabled account, a password reset), which
needs the state on the server (Part 11 §11.300(c), P11-33).

* The cookie carries 256 random bits (``secrets.token_urlsafe(32)``); Redis keys hold only
  its SHA-256, so a copy of Redis does not hand out live cookies.
* A session is a Redis hash: ``data`` (Flask's tagged JSON), ``user`` (the user id once
  logged in), ``created`` and ``seen`` (epoch seconds). The key expires after the idle
  timeout, refreshed by every request, and never outlives the absolute lifetime.
* Each user has a set of their session ids, so every session of a user ends at once.
* An ended session leaves a short marker saying why (logout, revoked), so a replayed cookie
  is told apart from one that expired while idle, and the user gets a plain message.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any, cast

from flask import Flask, Request, Response, current_app
from flask.sessions import SecureCookieSession, SessionInterface, session_json_serializer
from redis import Redis

from lims.settings import Settings

COOKIE_NAME = "ctvault_session"
USER_KEY = "user_id"
_PREFIX = "ctvault:session:"
_ENDED_PREFIX = "ctvault:session-ended:"
_USER_PREFIX = "ctvault:user-sessions:"

# Why a session ended; the guard turns these into messages.
IDLE = "idle"
ABSOLUTE = "absolute"
LOGOUT = "logout"
REVOKED = "revoked"
ROTATED = "rotated"
REFUSED = "refused"


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode("ascii", "replace")).hexdigest()


def new_sid() -> str:
    """A fresh session id: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class ServerSession(SecureCookieSession):
    """The session dict of one request, with its id and why an earlier one ended."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        *,
        sid: str,
        new: bool,
        created: float,
        ended: str | None = None,
    ) -> None:
        super().__init__(initial)
        self.sid = sid
        self.new = new
        self.created = created
        self.ended = ended
        self.ended_sids: list[tuple[str, str]] = []

    def rotate(self, reason: str = ROTATED, *, created: float | None = None) -> None:
        """Give the session a new id (at login and logout); the old id ends with ``reason``."""
        if not self.new:
            self.ended_sids.append((self.sid, reason))
        self.sid = new_sid()
        self.new = True
        if created is not None:
            self.created = created
        self.modified = True


class SessionStore:
    """The Redis side of sessions: read, write and end them."""

    def __init__(self, redis: Redis[bytes], settings: Settings) -> None:
        self.redis = redis
        self.idle_s = max(settings.session_idle_minutes, 1) * 60
        self.max_s = max(settings.session_max_hours, 1) * 3600

    @staticmethod
    def key_of(sid: str) -> str:
        """The Redis key of a session id."""
        return _PREFIX + _digest(sid)

    def key(self, sid: str) -> str:
        """The Redis key of a session id."""
        return self.key_of(sid)

    def read(self, sid: str) -> dict[str, str] | None:
        """The stored fields of a live session, or None."""
        raw = self.redis.hgetall(self.key(sid))
        if not raw:
            return None
        return {k.decode(): v.decode() for k, v in raw.items()}

    def ended_reason(self, sid: str) -> str | None:
        """Why a session ended, while the marker lasts (None: unknown or expired idle)."""
        raw = self.redis.get(_ENDED_PREFIX + _digest(sid))
        return raw.decode() if raw is not None else None

    def write(
        self,
        sid: str,
        *,
        data: str | None,
        user_id: str | None,
        created: float,
        now: float,
    ) -> None:
        """Store (or refresh) a session; ``data`` None keeps the stored data."""
        key = self.key(sid)
        ttl = max(int(min(self.idle_s, created + self.max_s - now)), 1)
        fields: dict[str, str] = {"created": repr(created), "seen": repr(now)}
        if data is not None:
            fields["data"] = data
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        if user_id:
            pipe.hset(key, "user", user_id)
            pipe.sadd(_USER_PREFIX + user_id, _digest(sid))
            pipe.expire(_USER_PREFIX + user_id, self.max_s)
        pipe.expire(key, ttl)
        pipe.execute()

    def end(self, sid: str, reason: str) -> None:
        """End one session now."""
        self._end_digest(_digest(sid), reason)

    def _end_digest(self, digest: str, reason: str) -> None:
        key = _PREFIX + digest
        user = self.redis.hget(key, "user")
        pipe = self.redis.pipeline()
        pipe.delete(key)
        pipe.set(_ENDED_PREFIX + digest, reason, ex=self.max_s)
        if user is not None:
            pipe.srem(_USER_PREFIX + user.decode(), digest)
        pipe.execute()

    def sessions_of(self, user_id: str) -> int:
        """How many live sessions a user has."""
        members = self.redis.smembers(_USER_PREFIX + user_id)
        return sum(1 for m in members if self.redis.exists(_PREFIX + m.decode()))

    def end_user_sessions(self, user_id: str, reason: str, *, keep: str | None = None) -> int:
        """End every session of a user (except ``keep``); returns how many were live."""
        kept = _digest(keep) if keep else None
        ended = 0
        for member in self.redis.smembers(_USER_PREFIX + user_id):
            digest = member.decode()
            if digest == kept:
                continue
            if self.redis.exists(_PREFIX + digest):
                ended += 1
            self._end_digest(digest, reason)
        if kept is None:
            self.redis.delete(_USER_PREFIX + user_id)
        return ended


class RedisSessionInterface(SessionInterface):
    """Flask's session hooks on top of ``SessionStore``."""

    def __init__(self, store: SessionStore, now: Callable[[], float]) -> None:
        self.store = store
        self.now = now

    def _fresh(self, ended: str | None = None) -> ServerSession:
        return ServerSession(sid=new_sid(), new=True, created=self.now(), ended=ended)

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        """Load the session named by the cookie, or start an empty one (saying why)."""
        sid = request.cookies.get(self.get_cookie_name(app))
        if not sid:
            return self._fresh()
        stored = self.store.read(sid)
        if stored is None:
            # Expired in Redis while idle, or ended on purpose (logout, revocation).
            return self._fresh(self.store.ended_reason(sid) or IDLE)
        now = self.now()
        created = float(stored.get("created", now))
        seen = float(stored.get("seen", now))
        if now - created >= self.store.max_s:
            self.store.end(sid, ABSOLUTE)
            return self._fresh(ABSOLUTE)
        if now - seen >= self.store.idle_s:
            self.store.end(sid, IDLE)
            return self._fresh(IDLE)
        data = stored.get("data")
        loaded = cast("dict[str, Any]", session_json_serializer.loads(data)) if data else {}
        return ServerSession(loaded, sid=sid, new=False, created=created)

    def save_session(self, app: Flask, session: Any, response: Response) -> None:  # noqa: ANN401
        """Write the session back (refreshing the idle timeout) and set the cookie if new."""
        current = cast("ServerSession", session)
        for old, reason in current.ended_sids:
            self.store.end(old, reason)
        current.ended_sids.clear()
        if current.new and not current:
            # Nothing worth keeping (an anonymous request that stored nothing).
            return
        now = self.now()
        changed = current.new or current.modified
        self.store.write(
            current.sid,
            data=session_json_serializer.dumps(dict(current)) if changed else None,
            user_id=cast("str | None", current.get(USER_KEY)),
            created=current.created,
            now=now,
        )
        if current.new:
            response.set_cookie(
                self.get_cookie_name(app),
                current.sid,
                httponly=True,
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
                path=self.get_cookie_path(app),
                domain=self.get_cookie_domain(app),
            )
        response.vary.add("Cookie")


def init_app(app: Flask, redis: Redis[bytes], settings: Settings, now: Callable[[], float]) -> None:
    """Replace Flask's cookie sessions with sessions in Redis."""
    app.session_interface = RedisSessionInterface(SessionStore(redis, settings), now)


def current_store() -> SessionStore:
    """The running application's session store."""
    return cast("RedisSessionInterface", current_app.session_interface).store
