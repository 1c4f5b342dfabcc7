"""Analysis pages (editor, review queue) and the sign dialog and signature panel."""

from lims.web.analyses.views import blueprint

__all__ = ["blueprint"]
