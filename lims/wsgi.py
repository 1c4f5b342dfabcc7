"""WSGI entry point for production: ``gunicorn -w 4 -k gthread --threads 8 'lims.wsgi:app'``.

Needs DATABASE_URL and REDIS_URL (no embedded servers under gunicorn). Run
``ctvault db upgrade`` once per release before starting it, and ``ctvault worker``
processes for the queues.
"""

from __future__ import annotations

from lims.web.app import create_app

app = create_app()
