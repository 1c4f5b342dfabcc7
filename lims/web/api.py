"""``/api/v1``: the first JSON endpoints, authenticated by API tokens only.

Scripts send ``Authorization: Bearer <token>``; the session cookie is never accepted here,
so these endpoints need no CSRF token. A read-scope token is refused on anything but
GET/HEAD (403). The full JSON API (``lims.api``) will reuse ``bearer_identity``.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, request

from lims.errors import UserError
from lims.services import changes
from lims.web import context
from lims.web.auth.guard import bearer_only

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

CREATED = 201


@blueprint.get("/whoami")
@bearer_only
def whoami() -> Response:
    """Who the token acts as, with their roles."""
    identity = context.require_identity()
    return jsonify(
        user_id=str(identity.user_id),
        username=identity.username,
        printed_name=identity.printed_name,
        roles=sorted(r.value for r in identity.roles),
        project_roles={
            str(p): sorted(r.value for r in roles) for p, roles in identity.project_roles.items()
        },
    )


@blueprint.post("/notes")
@bearer_only
def add_note() -> tuple[Response, int]:
    """Attach a note to a record: ``{"object_type", "object_id", "body"}`` (write scope)."""
    payload: Any = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise UserError('send a JSON object: {"object_type", "object_id", "body"}')
    try:
        object_id = uuid.UUID(str(payload.get("object_id", "")))
    except ValueError:
        raise UserError("object_id must be a UUID") from None
    note = changes.add_note(
        context.service_context(),
        str(payload.get("object_type", "")),
        object_id,
        str(payload.get("body", "")),
    )
    return jsonify(id=str(note.id), created_at=note.created_at.isoformat()), CREATED
