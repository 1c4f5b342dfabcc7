"""What a report shows, as plain frozen values: built from records, rendered without a database.

Loaders (``reports.loading``) fill these from the database; renderers (``reports.render``)
turn them into PDF pages and never query anything themselves.
"""

from __future__ import annotations

import dataclasses

from audit.query import EventView

KINDS = ("analysis", "dataset", "audit_trail")


@dataclasses.dataclass(frozen=True, slots=True)
class ReportMeta:
    """Identity of a report and of the record it is about: printed on every page.

    ``record_version`` is None for records without versions (the audit trail);
    ``version_count`` above one prints the "amended (n versions)" marker.
    """

    report_id: str
    kind: str
    title: str
    record_type: str
    record_id: str
    record_version: int | None
    status: str
    lab_name: str
    generated_at: str
    generated_by: str
    version_count: int = 1
    logo_png: bytes | None = None

    @property
    def record_label(self) -> str:
        """``<record id>@v<version>``, or the id alone for unversioned records."""
        if self.record_version is None:
            return self.record_id
        return f"{self.record_id}@v{self.record_version}"

    @property
    def amended_text(self) -> str:
        """The amendment marker, empty for a record never changed after first entry."""
        return f"amended ({self.version_count} versions)" if self.version_count > 1 else ""


@dataclasses.dataclass(frozen=True, slots=True)
class SignatureLine:
    """One signature manifestation: printed name, date and time with zone, meaning.

    ``withdrawn`` says when, by whom and why its signer withdrew it ("" while it stands).
    """

    printed_name: str
    signed_at: str
    meaning: str
    signature_id: str = ""
    withdrawn: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Table:
    """A titled table of text cells; long ones break across pages with repeated headers."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Picture:
    """A preview image (PNG) with an optional scale bar: ``pixel_size`` in ``unit`` per pixel."""

    caption: str
    png: bytes
    pixel_size: float | None = None
    unit: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Histogram:
    """Counts over bin edges, with thresholds drawn as vertical lines."""

    title: str
    counts: tuple[float, ...]
    edges: tuple[float, ...]
    thresholds: tuple[float, ...] = ()
    x_label: str = "value"


@dataclasses.dataclass(frozen=True, slots=True)
class Distribution:
    """Values whose distribution is plotted (particle sizes), with their unit."""

    title: str
    values: tuple[float, ...]
    unit: str


@dataclasses.dataclass(frozen=True, slots=True)
class Fractions:
    """Named fractions summing to about one (phase fractions)."""

    title: str
    parts: tuple[tuple[str, float], ...]


Plot = Histogram | Distribution | Fractions


@dataclasses.dataclass(frozen=True, slots=True)
class InputLine:
    """One input dataset version of a run, by identity and digests."""

    port: str
    label: str
    version_id: str
    manifest_sha256: str
    array_digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class Parameter:
    """One step parameter as recorded, with its unit (empty when unitless)."""

    name: str
    value: str
    unit: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class StepLine:
    """One workflow step: name, version, code digest and its parameters."""

    index: int
    name: str
    version: int
    code_digest: str
    parameters: tuple[Parameter, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class OutputLine:
    """One output array of a run."""

    port: str
    version_id: str
    array_digest: str


@dataclasses.dataclass(frozen=True, slots=True)
class RunSection:
    """A run as an analysis report shows it."""

    run_id: str
    workflow: str
    status: str
    submitted_by: str
    started_at: str
    finished_at: str
    record_sha256: str
    seed: int
    inputs: tuple[InputLine, ...]
    steps: tuple[StepLine, ...]
    environment: tuple[tuple[str, str], ...]
    outputs: tuple[OutputLine, ...]
    tables: tuple[Table, ...] = ()
    plots: tuple[Plot, ...] = ()
    pictures: tuple[Picture, ...] = ()
    replay_status: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class AnalysisReport:
    """An analysis with its runs, signatures and audit excerpt."""

    meta: ReportMeta
    description: str
    author: str
    runs: tuple[RunSection, ...]
    signatures: tuple[SignatureLine, ...]
    audit: tuple[EventView, ...]
    conclusions: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class FileLine:
    """One file of a dataset version."""

    path: str
    size_bytes: int
    sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class LineageLine:
    """One version in a dataset's history."""

    number: int
    version_id: str
    author: str
    created_at: str
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class DatasetReport:
    """A dataset version with its files, metadata, lineage and signatures."""

    meta: ReportMeta
    project: str
    sample: str
    dataset: str
    author: str
    created_at: str
    reason: str
    manifest_sha256: str
    total_bytes: int
    array_digest: str
    metadata: tuple[tuple[str, str], ...]
    files: tuple[FileLine, ...]
    lineage: tuple[LineageLine, ...]
    signatures: tuple[SignatureLine, ...]
    audit: tuple[EventView, ...]
    preview: Picture | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditTrailReport:
    """A filtered view of the audit trail with the chain's verification status."""

    meta: ReportMeta
    filter_text: str
    chain_status: str
    events: tuple[EventView, ...]


Report = AnalysisReport | DatasetReport | AuditTrailReport
