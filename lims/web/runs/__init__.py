"""Processing pages: workflows, submitting a workflow on a version, runs and the queue."""

from lims.web.runs.views import blueprint

__all__ = ["blueprint"]
