"""Signed tile links: short-lived IIIF base URIs that nginx can check without ctvault.

``info.json`` (after the full access check) hands out the image's base URI as

    /iiif/3/s/<expires>/<signature>/<array digest>/<image id>

and every tile URL a IIIF client builds from it carries that prefix. nginx's
``secure_link`` module checks the signature and the expiry and, for a tile already rendered,
sends the file from the tile folder itself (see ``deploy/nginx/ctvault.conf``); anything else
goes on to ctvault, which checks the same link and then the session and visibility again.

The signature is nginx's ``secure_link_md5`` construction, the only one it can check
natively: ``base64url(md5(f"{expires}{digest}{session} {secret}"))`` without padding. The
secret comes last, so MD5's length extension gives nothing, and ``session`` is the caller's
session cookie: a link is useless without the session it was issued to, and stops working
when it expires (the bound on how long a revoked session can still load tiles).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import re

from lims.imaging.tiles import TileRequestError

PREFIX = "s"
FORBIDDEN = 403
# Expiry times are rounded up to this step, so a viewer that asks again within it gets the
# same URLs (and the browser's cached tiles).
ROUND_S = 30
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{22}")
_DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclasses.dataclass(frozen=True, slots=True)
class TileLink:
    """The signed part of a tile URL: expiry (Unix seconds), signature and array digest."""

    expires: int
    signature: str
    digest: str

    def path(self) -> str:
        """``s/<expires>/<signature>/<digest>``, the segments after ``/iiif/3/``."""
        return f"{PREFIX}/{self.expires}/{self.signature}/{self.digest}"


def derive_secret(secret_key: str) -> str:
    """The default link secret: an HMAC of the app's secret key (never the key itself)."""
    return hmac.new(secret_key.encode(), b"ctvault tile links v1", hashlib.sha256).hexdigest()


def signature(secret: str, expires: int, digest: str, session: str) -> str:
    """The signature nginx checks: ``secure_link_md5 "$expires$digest$cookie_... <secret>"``."""
    text = f"{expires}{digest}{session} {secret}".encode()
    raw = hashlib.md5(text, usedforsecurity=False).digest()  # nginx checks only MD5
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def issue(secret: str, digest: str, session: str, *, now: float, lifetime_s: int) -> TileLink:
    """A link for the array ``digest``, valid for at least ``lifetime_s`` seconds from ``now``."""
    expires = -(-(int(now) + lifetime_s) // ROUND_S) * ROUND_S
    return TileLink(expires, signature(secret, expires, digest, session), digest)


def verify(secret: str, link: TileLink, session: str | None, *, now: float) -> None:
    """Check a link presented with the caller's session cookie.

    Raises:
        TileRequestError: (403) a malformed, forged or expired link, or one issued to
            another session.
    """
    if not (_SIGNATURE.fullmatch(link.signature) and _DIGEST.fullmatch(link.digest)):
        raise TileRequestError("this tile link is not valid", FORBIDDEN)
    expected = signature(secret, link.expires, link.digest, session or "")
    if not session or not hmac.compare_digest(expected, link.signature):
        raise TileRequestError("this tile link is not valid for this session", FORBIDDEN)
    if link.expires < now:
        raise TileRequestError("this tile link has expired; reload the viewer", FORBIDDEN)
