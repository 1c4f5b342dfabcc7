"""Catalogue fixtures: the search catalogue, the web client, and the run fixtures for lineage."""

from tests.integration.runs.conftest import ingest_volume, redis_url  # noqa: F401 - fixtures
from tests.integration.search.conftest import auditor, data, outsider  # noqa: F401 - fixtures
from tests.integration.web.conftest import app, client, logged_in  # noqa: F401 - fixtures
