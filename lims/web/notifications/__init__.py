"""The notifications page: what happened to a person's runs, analyses and reports."""

from lims.web.notifications.views import blueprint

__all__ = ["blueprint"]
