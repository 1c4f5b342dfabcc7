"""The sign dialog: what is being signed and what it means, then password (and user id).

A GET issues a one-time nonce bound to the record, its digest and this session; the POST
must bring it back (with the CSRF token). The first signature of a session, or one after
the signing epoch has lapsed, also needs the user id (Part 11 §11.200(a)(1)); the epoch is
kept in the server-side session and ends with it.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import AuthenticationError, UserError
from lims.services import signer_checks, signing
from lims.web import context
from lims.web.auth.guard import safe_next
from lims.web.errors import status_for
from signatures import nonces
from signatures.statement import STATEMENT_SHA256, STATEMENT_TEXT

EPOCH_KEY = "ctvault_signing_epoch"
EPOCH_MAX_S = 15 * 60
MEANING_TEXT = {
    "authored": "I wrote this record; it is complete and correct to the best of my knowledge.",
    "reviewed": "I have reviewed this record and the data it rests on, and found it correct.",
    "approved": "I approve this record (quality assurance release).",
    "rejected": "I reject this record; it goes back to its author with my reason.",
    "verified": "I have checked that this acquisition is complete and matches the instrument "
    "record.",
}
Page = tuple[str, int]


def epoch_open() -> bool:
    """Whether the session signed (or withdrew) recently enough to skip the user id."""
    last = session.get(EPOCH_KEY)
    limit = min(EPOCH_MAX_S, context.resources().settings.session_idle_minutes * 60)
    return isinstance(last, float) and now() - last < limit


def next_url() -> str:
    """Where to go after the dialog: the ``next`` field, when it stays on this site."""
    # Backslashes count as slashes in browsers: "/\\evil.example" would leave the site.
    return safe_next(request.values.get("next", "").replace("\\", "/")) or "/"


def now() -> float:
    """The clock's time now, as a POSIX timestamp."""
    return context.resources().clock.now().timestamp()


def _dialog(
    record_type: str, record_id: str, *, error: str | None = None, status: int = 200
) -> Page:
    ctx = context.service_context()
    record = signing.preview(ctx, record_type, record_id)
    meaning = request.values.get("meaning", "")
    nonce = nonces.issue(
        session, record_type=record_type, record_id=record_id, digest=record.digest, now=now()
    )
    page = render_template(
        "analyses/sign.html",
        record=record,
        meaning=meaning,
        meaning_text=MEANING_TEXT.get(meaning, ""),
        nonce=nonce,
        need_user_id=not epoch_open(),
        statement=None if signer_checks.has_acknowledged(ctx) else STATEMENT_TEXT,
        statement_sha256=STATEMENT_SHA256,
        next_url=next_url(),
        reason=request.form.get("reason", ""),
        error=error,
    )
    return page, status


def sign_dialog(record_type: str, record_id: str) -> Page:
    """Show what is signed, its digest and meaning; ask for the password."""
    return _dialog(record_type, record_id)


def sign_post(record_type: str, record_id: str) -> Page | BaseResponse:
    """Check the one-time request, then sign through the service (which audits)."""
    ctx = context.service_context()
    digest = request.form.get("digest", "")
    meaning = request.form.get("meaning", "")
    problem = nonces.consume(
        session,
        request.form.get("nonce", ""),
        record_type=record_type,
        record_id=record_id,
        digest=digest,
        now=now(),
    )
    password = request.form.get("password", "")
    try:
        if not password:
            error: UserError = AuthenticationError("signing needs your password, every time")
            signing.refuse_request(ctx, record_type, record_id, meaning, error)
        if problem is not None:
            signing.refuse_request(ctx, record_type, record_id, meaning, UserError(problem))
        row = signing.sign(
            ctx,
            record_type,
            record_id,
            meaning,
            password,
            request.form.get("user_id") or None,
            reason=request.form.get("reason", ""),
            expected_digest=digest,
            user_id_required=not epoch_open(),
            directory=context.resources().directory,
            require_acknowledgement=True,
            acknowledge_statement=request.form.get("acknowledge") or None,
        )
    except UserError as exc:
        return _dialog(record_type, record_id, error=str(exc), status=status_for(exc))
    session[EPOCH_KEY] = now()
    flash(f"Signed as {row.meaning} by {row.printed_name}.", "success")
    return redirect(next_url())
