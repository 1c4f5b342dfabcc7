"""Forms of the user administration pages; every change carries a reason (A11-16)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from lims.auth.roles import Role

REASON_LENGTH = 2000
EMAIL = r"^[^@\s]+@[^@\s]+$"
ROLE_CHOICES = [SelectChoice(role.value, role.value) for role in Role]
GLOBAL = SelectChoice("", "everywhere (global role)")


def _reason(label: str = "Reason") -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Length(max=REASON_LENGTH)],
        description="Recorded in the audit trail with the change.",
    )


class CheckboxesField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateUserForm(FlaskForm):  # type: ignore[misc]
    """A new local account; it gets a one-time password to change at first login."""

    username = StringField("User name", validators=[DataRequired(), Length(max=150)])
    display_name = StringField("Printed name", validators=[DataRequired(), Length(max=300)])
    email = EmailField(
        "E-mail",
        validators=[Optional(), Regexp(EMAIL, message="not an e-mail address"), Length(max=320)],
        description="Password resets are mailed here.",
    )
    roles = CheckboxesField("Global roles", choices=ROLE_CHOICES, default=["viewer"])
    reason = _reason()


class GrantForm(FlaskForm):  # type: ignore[misc]
    """Give a role, globally or within one project (project membership)."""

    role = SelectField("Role", choices=ROLE_CHOICES)
    project = SelectField("Where", choices=[GLOBAL])
    reason = _reason()


class ReasonForm(FlaskForm):  # type: ignore[misc]
    """Any other change of an account: only the reason is asked."""

    reason = _reason()
