"""Read a request into its declared model and write a model as the JSON answer.

Malformed JSON is a 400; a well-formed request with wrong types, missing or unknown fields
is a 422 whose details name each field. Nothing reaches a service before this succeeds.
"""

from __future__ import annotations

from typing import TypeVar, get_origin

from flask import Response, request
from pydantic import BaseModel, ValidationError

from lims.web.api.problems import BAD_REQUEST, UNPROCESSABLE, RequestError
from lims.web.api.routing import OK
from lims.web.api.schemas import UNSTORABLE

M = TypeVar("M", bound=BaseModel)
MALFORMED = "json_invalid"


def _details(error: ValidationError, where: str) -> list[dict[str, str]]:
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in (where, *item["loc"]))
        problems.append({"field": path, "problem": item["msg"]})
    return problems


def _refuse(error: ValidationError, where: str) -> RequestError:
    details = _details(error, where)
    fields = ", ".join(sorted({d["field"] for d in details}))
    # Text that fits the schema but cannot be stored is refused for its meaning: a 400.
    unstorable = all(item["type"] == UNSTORABLE for item in error.errors())
    return RequestError(
        f"the {'query string' if where == 'query' else 'request body'} is invalid: {fields}",
        status=BAD_REQUEST if unstorable else UNPROCESSABLE,
        details=details,
    )


def _is_list(annotation: object) -> bool:
    return get_origin(annotation) is list


def parse_query(model: type[M]) -> M:
    """The query string as ``model``.

    Raises:
        RequestError: a single-valued parameter repeated (400), or wrong or unknown ones
            (422). List parameters are given by repeating them (``?kind=a&kind=b``).
    """
    lists = {name for name, field in model.model_fields.items() if _is_list(field.annotation)}
    repeated = sorted(
        key for key, values in request.args.lists() if len(values) > 1 and key not in lists
    )
    if repeated:
        raise RequestError(
            f"give each query parameter once: {', '.join(repeated)}",
            details=[{"field": f"query.{key}", "problem": "repeated"} for key in repeated],
        )
    try:
        return model.model_validate(
            {key: values if key in lists else values[0] for key, values in request.args.lists()}
        )
    except ValidationError as exc:
        raise _refuse(exc, "query") from None


def parse_body(model: type[M]) -> M:
    """The JSON body as ``model``.

    Raises:
        RequestError: no body or malformed JSON (400); wrong, missing or unknown fields (422).
    """
    raw = request.get_data(cache=True)
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        if any(item["type"] == MALFORMED for item in exc.errors()):
            raise RequestError(
                "the request body is not valid JSON: send a JSON object "
                "with Content-Type: application/json",
                status=BAD_REQUEST,
            ) from None
        raise _refuse(exc, "body") from None


def render(model: BaseModel, status: int = OK) -> Response:
    """``model`` as the JSON answer."""
    return Response(model.model_dump_json(), status=status, mimetype="application/json")
