"""Analysis report: the analysis, its runs with inputs, workflow, environment and results."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable

from reports.content import AnalysisReport, RunSection, Table
from reports.render.blocks import (
    audit_excerpt,
    data_table,
    heading,
    key_values,
    para,
    signature_block,
    title_block,
)
from reports.render.document import MARGIN, build_pdf, page_size
from reports.render.figures import picture_grid, plot_block


def _run(run: RunSection, width: float) -> list[Flowable]:
    story: list[Flowable] = heading(f"Run {run.run_id}")
    facts = [
        ("Workflow", run.workflow),
        ("Status", run.status),
        ("Submitted by", run.submitted_by),
        ("Started / finished", f"{run.started_at} / {run.finished_at}"),
        ("Record SHA-256", run.record_sha256),
        ("Seed", str(run.seed)),
    ]
    if run.replay_status:
        facts.append(("Replay", run.replay_status))
    story.append(key_values(facts, width=width, mono=("Record SHA-256",)))
    story += data_table(
        Table(
            "Inputs",
            ("Port", "Dataset version", "Version id", "SHA-256 (manifest)", "Array digest"),
            tuple(
                (i.port, i.label, i.version_id, i.manifest_sha256, i.array_digest)
                for i in run.inputs
            ),
        ),
        width=width,
        weights=(0.8, 1.6, 2.2, 3, 3),
        mono=(2, 3, 4),
    )
    story += data_table(
        Table(
            "Workflow steps",
            ("#", "Step", "Version", "Code digest", "Parameters (with units)"),
            tuple(
                (
                    str(s.index),
                    s.name,
                    str(s.version),
                    s.code_digest,
                    "\n".join(f"{p.name} = {p.value} {p.unit}".rstrip() for p in s.parameters)
                    or "(none)",
                )
                for s in run.steps
            ),
        ),
        width=width,
        weights=(0.4, 1.8, 0.9, 3.4, 3.3),
        mono=(3,),
    )
    story += heading("Environment", 2)
    story.append(key_values(run.environment or [("(not recorded)", "")], width=width))
    story += data_table(
        Table(
            "Outputs",
            ("Port", "Version id", "Array digest"),
            tuple((o.port, o.version_id, o.array_digest) for o in run.outputs),
        ),
        width=width,
        weights=(1, 2.4, 3.4),
        mono=(1, 2),
    )
    if run.plots:
        story += heading("Plots", 2)
        story.extend(plot_block(plot, width=width) for plot in run.plots)
    if run.pictures:
        story += heading("Preview images", 2)
        story += picture_grid(run.pictures, width=width, max_height=80 * mm)
    for table in run.tables:
        story += data_table(table, width=width)
    return story


def render_analysis(report: AnalysisReport) -> bytes:
    """The analysis report as PDF bytes (unsealed)."""
    width = page_size(wide=False)[0] - 2 * MARGIN
    story: list[Flowable] = title_block(
        report.meta, [("Author", report.author), ("Runs", str(len(report.runs)))], width=width
    )
    if report.description:
        story.append(para(report.description))
    if report.conclusions:
        story += heading("Conclusions", 2)
        story.append(para(report.conclusions))
    story += heading("Signatures")
    story += signature_block(report.signatures, width=width)
    for run in report.runs:
        story += _run(run, width)
    story += audit_excerpt(report.audit, width=width, title="Audit trail of this record")
    return build_pdf(report.meta, story)
