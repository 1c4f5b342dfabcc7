"""``/health``: a public liveness probe for load balancers and ``ctvault serve``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from lims.web.auth.guard import public

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
@public
def health() -> Response:
    """Report that the web process answers."""
    return jsonify(status="ok")
