"""Analysis web fixtures: the web app and client, and the signing lab (people, a version)."""

from tests.integration.signatures.conftest import lab  # noqa: F401 - fixture
from tests.integration.web.conftest import app, client  # noqa: F401 - fixtures
