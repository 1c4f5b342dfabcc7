"""The application factory: the web process's composition root (no module-level app)."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from lims.api import iiif
from lims.runtime.resources import Resources, build_resources, secret_key
from lims.settings import Settings
from lims.web import api, context, errors, filters, health, security, sessions, vendor
from lims.web.admin.views import blueprint as admin_blueprint
from lims.web.analyses import blueprint as analyses_blueprint
from lims.web.audit_trail.views import blueprint as audit_blueprint
from lims.web.auth import guard
from lims.web.auth.account import blueprint as account_blueprint
from lims.web.auth.views import blueprint as auth_blueprint
from lims.web.catalogue.views import blueprint as catalogue_blueprint
from lims.web.notifications import blueprint as notifications_blueprint
from lims.web.records.views import blueprint as records_blueprint
from lims.web.reports import blueprint as reports_blueprint
from lims.web.runs import blueprint as runs_blueprint
from lims.web.search.views import blueprint as search_blueprint
from lims.web.uploads.views import blueprint as uploads_blueprint
from lims.web.uploads.views import stage_file
from lims.web.viewer.views import blueprint as viewer_blueprint

EXTENSION = "ctvault"
FORM_BYTES = 1_000_000


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> Flask:
    """Build the web application.

    Args:
        settings: the configuration; read from the environment when omitted (and when
            ``resources`` is omitted too).
        resources: engine, session factory, store and Redis to use; built from
            ``settings`` when omitted (tests pass their rolled-back ones).

    Returns:
        The configured Flask application.
    """
    if resources is None:
        resources = build_resources(settings or Settings.from_env())
    settings = resources.settings if settings is None else settings
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key(settings),
        # Forms are small; uploads stream through their own endpoint with its own limit.
        MAX_CONTENT_LENGTH=FORM_BYTES,
        WTF_CSRF_TIME_LIMIT=None,
    )
    security.configure(app, production=settings.production)
    app.extensions[EXTENSION] = resources
    sessions.init_app(app, resources.redis, settings, lambda: resources.clock.now().timestamp())
    context.init_app(app)
    # The login guard runs before CSRF so an anonymous POST is sent to the login page.
    guard.init_app(app)
    csrf = CSRFProtect(app)
    # The raw-body upload endpoint checks its token header itself, after raising the body
    # limit: CSRFProtect would read the body as a form under the small form limit.
    csrf.exempt(stage_file)
    # The API takes bearer tokens only, never the session cookie: no CSRF to forge.
    csrf.exempt(api.blueprint)
    errors.init_app(app)
    filters.init_app(app)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(vendor.make_blueprint(settings))
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(catalogue_blueprint)
    app.register_blueprint(uploads_blueprint)
    app.register_blueprint(records_blueprint)
    app.register_blueprint(audit_blueprint)
    app.register_blueprint(account_blueprint)
    app.register_blueprint(admin_blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(iiif.blueprint)
    app.register_blueprint(viewer_blueprint)
    app.register_blueprint(runs_blueprint)
    app.register_blueprint(search_blueprint)
    app.register_blueprint(notifications_blueprint)
    app.register_blueprint(analyses_blueprint)
    app.register_blueprint(reports_blueprint)
    return app
