"""Forms to create projects and samples."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

NAME_LENGTH = 200
DESCRIPTION_LENGTH = 5000


class ProjectForm(FlaskForm):  # type: ignore[misc]
    """A new project."""

    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_LENGTH)])
    description = TextAreaField("Description", validators=[Length(max=DESCRIPTION_LENGTH)])


class SampleForm(FlaskForm):  # type: ignore[misc]
    """A new sample inside a project."""

    name = StringField("Name", validators=[DataRequired(), Length(max=NAME_LENGTH)])
    description = TextAreaField("Description", validators=[Length(max=DESCRIPTION_LENGTH)])


def first_error(form: FlaskForm) -> str:
    """The first validation message of a form, prefixed with its field's label."""
    for field in form:
        if field.errors:
            return f"{field.label.text}: {field.errors[0]}"
    return "the form is incomplete"
