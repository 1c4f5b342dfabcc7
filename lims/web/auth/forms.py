"""Forms of logging in and of one's own account: password change, API tokens."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange

from lims.services.tokens import MAX_DAYS, SCOPES

SCOPE_LABELS = {"read": "read only", "write": "read and write"}


class LoginForm(FlaskForm):  # type: ignore[misc]
    """User name and password (local account or the lab directory)."""

    username = StringField(
        "User name",
        validators=[DataRequired(), Length(max=150)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordForm(FlaskForm):  # type: ignore[misc]
    """The current password and a new one, twice."""

    current = PasswordField(
        "Current password",
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"autocomplete": "current-password"},
    )
    new = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=1000)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="the two new passwords differ")],
        render_kw={"autocomplete": "new-password"},
    )


class TokenForm(FlaskForm):  # type: ignore[misc]
    """A new API token: what uses it, what it may do, how long it lives."""

    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=200)],
        description="What uses it, e.g. 'nightly export script on lab-pc-3'.",
    )
    scope = RadioField(
        "Scope",
        choices=[SelectChoice(s, SCOPE_LABELS[s]) for s in SCOPES],
        default="read",
        validators=[DataRequired()],
    )
    days = IntegerField(
        "Valid for (days)",
        default=90,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_DAYS)],
    )
