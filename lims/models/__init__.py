"""SQLAlchemy 2 typed models of the core domain, one aggregate per module."""

from lims.models.analyses import Analysis, AnalysisRevision
from lims.models.blobs import Blob
from lims.models.datasets import Dataset, DatasetVersion, VersionFile
from lims.models.derivatives import VersionDerivative, VersionPreparation
from lims.models.notes import Note
from lims.models.notifications import Notification
from lims.models.projects import Project, Sample
from lims.models.reports import Report, ReportRequest
from lims.models.retirements import Retirement
from lims.models.runs import (
    ProcessingStep,
    Run,
    RunResult,
    RunState,
    Workflow,
)
from lims.models.search import SavedSearch, SearchDocument
from lims.models.signatures import Signature, SignatureWithdrawal, SigningKey
from lims.models.tags import Tag, TagRemoval
from lims.models.users import ApiToken, PasswordHistory, RoleAssignment, User

__all__ = [
    "Analysis",
    "AnalysisRevision",
    "ApiToken",
    "Blob",
    "Dataset",
    "DatasetVersion",
    "Note",
    "Notification",
    "PasswordHistory",
    "ProcessingStep",
    "Project",
    "Report",
    "ReportRequest",
    "Retirement",
    "RoleAssignment",
    "Run",
    "RunResult",
    "RunState",
    "Sample",
    "SavedSearch",
    "SearchDocument",
    "Signature",
    "SignatureWithdrawal",
    "SigningKey",
    "Tag",
    "TagRemoval",
    "User",
    "VersionDerivative",
    "VersionFile",
    "VersionPreparation",
    "Workflow",
]
