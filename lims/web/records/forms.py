"""Forms that change a record: each change carries a reason (A11-10), checked by the service.

The reason fields have no ``DataRequired``: the services refuse a change without a reason and
say so, and that one rule is what the tests pin. Each form has a prefix so that several forms
on one page keep distinct field ids and labels.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from lims.services.changes import MAX_NOTE_LENGTH
from lims.web.catalogue.forms import DESCRIPTION_LENGTH, NAME_LENGTH

REASON_LENGTH = 2000
METADATA_LENGTH = 200_000


class EditForm(FlaskForm):  # type: ignore[misc]
    """New name and description of a project or sample, and why."""

    name = StringField("New name", validators=[DataRequired(), Length(max=NAME_LENGTH)])
    description = TextAreaField("New description", validators=[Length(max=DESCRIPTION_LENGTH)])
    reason = TextAreaField(
        "Reason for the change",
        validators=[Length(max=REASON_LENGTH)],
        description="Recorded in the audit trail with the old and new values.",
    )


class RetireForm(FlaskForm):  # type: ignore[misc]
    """Why a record is retired, and an explicit confirmation."""

    reason = TextAreaField("Reason for retiring", validators=[Length(max=REASON_LENGTH)])
    confirm = BooleanField("I understand that this record leaves the lists (it stays readable)")


class NoteForm(FlaskForm):  # type: ignore[misc]
    """A free-text note on a record."""

    body = TextAreaField("Note", validators=[Length(max=MAX_NOTE_LENGTH)])


class MetadataForm(FlaskForm):  # type: ignore[misc]
    """A dataset's new metadata as a JSON object, and why."""

    metadata = TextAreaField(
        "Metadata (JSON object)",
        validators=[Length(max=METADATA_LENGTH)],
        description="Saved as a new version with the same files; earlier versions stay.",
    )
    reason = TextAreaField("Reason for the metadata change", validators=[Length(max=REASON_LENGTH)])
