"""One-time sign requests: a nonce bound to the record, its digest and the session (pure).

The sign dialog receives a nonce when it is shown; the post must bring it back with the
same record and digest. A nonce is used once and expires; a replayed or forged request, or
one for a record that changed meanwhile, is refused. The store is the server-side session.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
from typing import Any

SESSION_KEY = "ctvault_sign_nonces"
LIFETIME_S = 900.0
MAX_OPEN = 20


def issue(
    store: MutableMapping[str, Any], *, record_type: str, record_id: str, digest: str, now: float
) -> str:
    """A new nonce for signing this record at this digest."""
    nonces = {k: v for k, v in dict(store.get(SESSION_KEY, {})).items() if v["expires"] > now}
    while len(nonces) >= MAX_OPEN:
        nonces.pop(min(nonces, key=lambda k: nonces[k]["expires"]))
    nonce = secrets.token_urlsafe(24)
    nonces[nonce] = {
        "record": f"{record_type}:{record_id}",
        "digest": digest,
        "expires": now + LIFETIME_S,
    }
    store[SESSION_KEY] = nonces
    return nonce


def consume(
    store: MutableMapping[str, Any],
    nonce: str,
    *,
    record_type: str,
    record_id: str,
    digest: str,
    now: float,
) -> str | None:
    """Use a nonce up; None if it was good, else why the request is refused."""
    nonces = dict(store.get(SESSION_KEY, {}))
    entry = None
    for known in list(nonces):
        if hmac.compare_digest(known.encode(), nonce.encode()):
            entry = nonces.pop(known)
    store[SESSION_KEY] = nonces
    if entry is None:
        return "this sign request was already used or was never issued; open the sign dialog again"
    if entry["expires"] <= now:
        return "this sign request has expired; open the sign dialog again"
    if entry["record"] != f"{record_type}:{record_id}":
        return "this sign request was issued for another record"
    if entry["digest"] != digest:
        return "the record changed after the sign dialog was opened; review it and sign again"
    return None
