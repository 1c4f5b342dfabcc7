"""Report pages: request a sealed report, download it, verify a report file."""

from lims.web.reports.views import blueprint

__all__ = ["blueprint"]
