"""Login attempts per client address and minute, counted in Redis (P11-32)."""

from __future__ import annotations

from redis import Redis

_PREFIX = "ctvault:login-attempts:"
WINDOW_S = 60


def allow_attempt(redis: Redis[bytes], address: str, per_minute: int) -> bool:
    """Count one attempt from ``address``; False once it exceeds ``per_minute`` this minute.

    A fixed window: the counter starts at the first attempt and expires a minute later.
    """
    if per_minute <= 0:
        return True
    key = _PREFIX + (address or "unknown")
    pipe = redis.pipeline()
    # SET NX EX then INCR (not EXPIRE NX, which needs Redis 7; the embedded one is 6.2).
    pipe.set(key, 0, ex=WINDOW_S, nx=True)
    pipe.incr(key)
    _, count = pipe.execute()
    return int(count) <= per_minute
