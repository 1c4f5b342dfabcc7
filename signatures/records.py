"""The built-in signable records and their registration.

Analysis revisions (``analysis_record``), dataset versions and runs (``data_records``) and
step validation changes (``step_record``); each loader builds the canonical content a signer
attests to, with the digests of the data it references.
"""

from __future__ import annotations

from signatures.analysis_record import ANALYSIS, ANALYSIS_TYPE, analysis_content
from signatures.data_records import (
    DATASET_VERSION,
    RUN,
    RUN_TYPE,
    VERSION_TYPE,
    run_content,
    version_content,
)
from signatures.lookup import signed_by
from signatures.registry import register
from signatures.step_record import STEP_TYPE, STEP_VALIDATION

BUILTIN = (ANALYSIS_TYPE, VERSION_TYPE, RUN_TYPE, STEP_TYPE)

__all__ = [
    "ANALYSIS",
    "BUILTIN",
    "DATASET_VERSION",
    "RUN",
    "STEP_VALIDATION",
    "analysis_content",
    "register_builtin",
    "run_content",
    "signed_by",
    "version_content",
]


def register_builtin() -> None:
    """Register the built-in record types (idempotent)."""
    for record_type in BUILTIN:
        register(record_type)
