"""The withdrawal dialog: which signature, why, and the signer's password again (P11-22).

Like the sign dialog, the first signing act of a session (or one after the signing epoch
has lapsed) also needs the user id; a successful withdrawal opens the epoch again.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session
from werkzeug.wrappers import Response as BaseResponse

from lims.errors import AuthenticationError, UserError
from lims.services import signature_withdrawal
from lims.web import context
from lims.web.analyses.signing import EPOCH_KEY, Page, epoch_open, next_url, now
from lims.web.errors import status_for


def withdraw_dialog(signature_id: str) -> Page:
    """Show the signature to withdraw; ask for the reason and the password."""
    return _dialog(signature_id)


def withdraw_post(signature_id: str) -> Page | BaseResponse:
    """Withdraw through the service (which re-authenticates and audits)."""
    ctx = context.service_context()
    password = request.form.get("password", "")
    try:
        if not password:
            raise AuthenticationError("withdrawing a signature needs your password")
        withdrawal = signature_withdrawal.withdraw(
            ctx,
            signature_id,
            password,
            reason=request.form.get("reason", ""),
            user_id=request.form.get("user_id") or None,
            user_id_required=not epoch_open(),
            directory=context.resources().directory,
        )
    except UserError as exc:
        return _dialog(signature_id, error=str(exc), status=status_for(exc))
    session[EPOCH_KEY] = now()
    flash(f"Signature withdrawn by {withdrawal.printed_name}.", "success")
    return redirect(next_url())


def _dialog(signature_id: str, *, error: str | None = None, status: int = 200) -> Page:
    signature = signature_withdrawal.withdrawable(context.service_context(), signature_id)
    page = render_template(
        "analyses/withdraw.html",
        signature=signature,
        need_user_id=not epoch_open(),
        next_url=next_url(),
        reason=request.form.get("reason", ""),
        error=error,
    )
    return page, status
