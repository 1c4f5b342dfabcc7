"""The upload form: target dataset and the reason recorded with the new version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

DATASET_NAME_LENGTH = 200
REASON_LENGTH = 2000


class UploadForm(FlaskForm):  # type: ignore[misc]
    """Where the files go and why; the files themselves are streamed separately."""

    dataset = StringField(
        "Dataset",
        validators=[
            DataRequired(),
            Length(max=DATASET_NAME_LENGTH),
            Regexp(r"^[^/]*$", message="a dataset name cannot contain '/'"),
        ],
        description="A new name creates a dataset; an existing name adds a version to it.",
    )
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired(), Length(max=REASON_LENGTH)],
        description="Recorded with the version, e.g. 'acquired on Zeiss Versa 620'.",
    )
