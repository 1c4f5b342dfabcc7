"""The upload form: target dataset and the reason recorded with the new version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from lims.errors import UserError
from lims.services.catalogue import validate_name

REASON_LENGTH = 2000


def _dataset_name(_form: FlaskForm, field: Field) -> None:
    """The catalogue's own name rules (one place), reported on the field."""
    try:
        validate_name(field.data or "", "dataset")
    except UserError as exc:
        raise ValidationError(str(exc)) from exc


class UploadForm(FlaskForm):  # type: ignore[misc]
    """Where the files go and why; the files themselves are streamed separately."""

    dataset = StringField(
        "Dataset",
        validators=[_dataset_name],
        description="A new name creates a dataset; an existing name adds a version to it.",
    )
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(), Length(max=REASON_LENGTH)],
        description="Recorded with the version, e.g. 'acquired on Zeiss Versa 620'.",
    )
