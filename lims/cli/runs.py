"""Processing commands: define workflows, submit, show and cancel runs, replay, reap."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any

import click

from lims.cli._runtime import login, open_resources, run_user_errors, user_options
from lims.cli.signatures import signer_login, statement_notice
from lims.errors import UserError
from lims.runtime.resources import Resources
from lims.services import runs, signer_checks, step_validation, workflows
from lims.services.context import ServiceContext
from processing import replay as replay_module
from processing.context import JobResources
from processing.execution import reap_stale_runs
from processing.queues import JobQueue
from signatures.statement import STATEMENT_SHA256

FINAL = ("succeeded", "failed", "cancelled")


def _acting(resources: Resources, username: str, password_stdin: bool) -> Callable[[], Any]:
    identity = run_user_errors(lambda: login(resources, username, password_stdin))
    return lambda: identity


def _value(raw: str) -> Any:  # noqa: ANN401 - a JSON scalar
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _steps(
    step: tuple[str, ...], param: tuple[str, ...], wire: tuple[str, ...]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in step:
        name, _, version = item.partition(":")
        if not version.isdigit():
            raise UserError(f"--step {item!r}: write NAME:VERSION, e.g. segment.otsu:1")
        out.append({"name": name, "version": int(version), "parameters": {}, "wiring": {}})
    for option, key in ((param, "parameters"), (wire, "wiring")):
        for item in option:
            target, _, raw = item.partition("=")
            index, _, name = target.partition(".")
            if not index.isdigit() or not name or not 1 <= int(index) <= len(out):
                raise UserError(f"{item!r}: write STEP.NAME=VALUE with STEP from 1 to {len(out)}")
            out[int(index) - 1][key][name] = _value(raw) if key == "parameters" else raw
    return out


@click.group()
def workflow() -> None:
    """Define and list processing workflows."""


@workflow.command("create")
@click.argument("name")
@click.option("--step", "step", multiple=True, help="A step NAME:VERSION, in order (repeat).")
@click.option("--param", "param", multiple=True, help="STEP.NAME=VALUE, STEP counts from 1.")
@click.option("--wire", "wire", multiple=True, help="STEP.PORT=SOURCE: feed a port another image.")
@click.option("--output", "outputs", multiple=True, help="Image port to keep (default: the last).")
@click.option("--description", default="", help="What the workflow is for.")
@click.option("--resource-class", default="default", type=click.Choice(["default", "heavy"]))
@user_options
def create_workflow(
    name: str,
    step: tuple[str, ...],
    param: tuple[str, ...],
    wire: tuple[str, ...],
    outputs: tuple[str, ...],
    description: str,
    resource_class: str,
    username: str,
    password_stdin: bool,
) -> None:
    """Create workflow NAME (or its next version) from validated step versions."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            created = run_user_errors(
                lambda: workflows.create_workflow(
                    ctx,
                    name=name,
                    steps=_steps(step, param, wire),
                    description=description,
                    outputs=outputs,
                    resource_class=resource_class,
                )
            )
            uow.commit()
    click.echo(f"created workflow {created.name} v{created.version} ({created.id})")


@workflow.command("list")
@user_options
def list_workflows(username: str, password_stdin: bool) -> None:
    """List workflows (latest versions) and the installed steps with their states."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            for item in workflows.list_workflows(ctx):
                chain = " -> ".join(f"{s['name']} v{s['version']}" for s in item.steps)
                click.echo(f"{item.id}  {item.name} v{item.version}: {chain}")
            click.echo("steps:")
            for info in workflows.step_catalog(ctx):
                click.echo(f"  {info.name} v{info.version}  {info.state}  {info.code_digest}")
            uow.commit()


@workflow.command("step-state")
@click.argument("name")
@click.argument("version", type=int)
@click.argument("state", type=click.Choice(["validated", "draft", "retired"]))
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@click.option(
    "--acknowledge-statement",
    "acknowledge",
    is_flag=True,
    help="Acknowledge the signature-accountability statement (`ctvault signatures "
    "statement`); needed with your first signature.",
)
@user_options
def step_state(
    name: str,
    version: int,
    state: str,
    reason: str,
    acknowledge: bool,
    username: str,
    password_stdin: bool,
) -> None:
    """Set the validation STATE of step NAME VERSION (administrators only), signed.

    The password is asked once and serves both to log in and to sign the change.
    """
    with open_resources() as resources:
        identity, password = run_user_errors(
            lambda: signer_login(resources, username, password_stdin)
        )
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            if not acknowledge and not signer_checks.has_acknowledged(ctx):
                click.echo(statement_notice(), err=True)
            signature = run_user_errors(
                lambda: step_validation.change_step_state(
                    ctx,
                    name,
                    version,
                    state=state,
                    reason=reason,
                    password=password,
                    user_id=username,
                    directory=resources.directory,
                    acknowledge_statement=STATEMENT_SHA256 if acknowledge else None,
                )
            )
    click.echo(f"step {name} v{version} is now {state} (signed by {signature.printed_name})")


@click.group("run")
def run_group() -> None:
    """Submit, show and cancel processing runs."""


def _workflow_id(ctx: ServiceContext, ref: str, version: int | None) -> uuid.UUID:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return workflows.find_workflow(ctx, ref, version).id


@run_group.command("submit")
@click.argument("workflow_ref", metavar="WORKFLOW")
@click.argument("version_ids", nargs=-1, type=click.UUID)
@click.option("--workflow-version", type=int, default=None, help="Default: the latest.")
@click.option("--input", "named", multiple=True, help="PORT=VERSION_ID for several inputs.")
@click.option("--reason", default="", help="Why (required when reprocessing the same input).")
@user_options
def submit(
    workflow_ref: str,
    version_ids: tuple[uuid.UUID, ...],
    workflow_version: int | None,
    named: tuple[str, ...],
    reason: str,
    username: str,
    password_stdin: bool,
) -> None:
    """Run WORKFLOW (name or id) on a dataset version (VERSION_ID)."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)

            def act() -> Any:  # noqa: ANN401 - a Run
                inputs: Any = {k: uuid.UUID(v) for k, _, v in (n.partition("=") for n in named)}
                if not inputs:
                    if len(version_ids) != 1:
                        raise UserError("give one VERSION_ID, or --input PORT=VERSION_ID")
                    inputs = version_ids[0]
                workflow_id = _workflow_id(ctx, workflow_ref, workflow_version)
                return runs.submit(ctx, workflow_id, inputs, reason=reason)

            created = run_user_errors(act)
            uow.commit()
    click.echo(f"queued run {created.id} (record sha256 {created.record_sha256})")


def _show(view: runs.RunView) -> None:
    run, state, result = view.run, view.state, view.result
    click.echo(f"run {run.id} ({run.kind}) of {run.workflow.name} v{run.workflow.version}")
    click.echo(f"  status: {state.status} {state.progress:.0%} {state.message}")
    click.echo(f"  submitted by {run.submitted_by.username} at {run.created_at.isoformat()}")
    click.echo(f"  GxP: {'yes' if run.is_gxp else 'no (research)'}; seed {run.seed}")
    for entry in run.inputs:
        click.echo(f"  input {entry['port']}: {entry['version_id']} {entry['array_digest']}")
    for step in run.steps:
        click.echo(
            f"  step {step['name']} v{step['version']} code {step['code_digest']} "
            f"parameters {step['parameters']}"
        )
    if result is None:
        return
    click.echo(f"  worker {result.worker_host}; peak memory {result.peak_memory_bytes} bytes")
    for output in result.outputs:
        click.echo(
            f"  output {output['port']}: {output.get('version_id')} {output['array_digest']}"
        )
    for port, table in result.tables.items():
        click.echo(f"  table {port}: {len(table['rows'])} row(s) sha256 {table['sha256']}")
    if result.error:
        click.echo(f"  error: {result.error}")
    if result.replay:
        _verdict(result.replay)


def _verdict(report: dict[str, Any]) -> None:
    click.echo(f"  replay of {report['replay_of']}: {report['verdict'].upper()}")
    for item in report["arrays"] + report["tables"]:
        mark = "identical" if item["identical"] else "DIFFERENT"
        click.echo(f"    {item['port']}: {mark} {item.get('original')} -> {item.get('replay')}")
        if "max_abs_difference" in item:
            click.echo(
                f"      max |diff| {item['max_abs_difference']}, "
                f"{item['fraction_differing']:.6%} of voxels differ"
            )
    for name, (before, after) in report["environment_differences"].items():
        click.echo(f"    environment {name}: {before} -> {after}")


@run_group.command("show")
@click.argument("run_id", type=click.UUID)
@user_options
def show(run_id: uuid.UUID, username: str, password_stdin: bool) -> None:
    """Show a run's record, status, outputs and result."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            view = run_user_errors(
                lambda: runs.get_run(resources.service_context(uow, identity), run_id)
            )
            _show(view)


@run_group.command("cancel")
@click.argument("run_id", type=click.UUID)
@click.option("--reason", required=True, help="Why (recorded in the audit trail).")
@user_options
def cancel(run_id: uuid.UUID, reason: str, username: str, password_stdin: bool) -> None:
    """Cancel a queued or running run; it ends without output."""
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            run_user_errors(lambda: runs.cancel(ctx, run_id, reason=reason))
            uow.commit()
    click.echo(f"cancelled run {run_id}")


def job_resources(resources: Resources) -> JobResources:
    """Worker resources sharing this command's connections."""
    return JobResources(
        settings=resources.settings,
        session_factory=resources.session_factory,
        redis=resources.redis,
        blobstore=resources.blobstore,
        clock=resources.clock,
        hostname=socket.gethostname(),
    )


@run_group.command("reap")
def reap() -> None:
    """Fail runs whose worker died mid-job; re-enqueue queued runs that lost their job.

    Policy: a run left running with no live RQ job (or no worker heartbeat for 3 minutes)
    is marked failed, never retried; submit it again. Run this from cron.
    """
    with open_resources() as resources:
        found = reap_stale_runs(job_resources(resources), JobQueue(resources.redis))
    click.echo(f"failed {len(found['failed'])} stale run(s), requeued {len(found['requeued'])}")
    for run_id in found["failed"]:
        click.echo(f"  failed {run_id}")


@click.command("replay")
@click.argument("run_id", type=click.UUID)
@click.option("--reason", default="", help="Why the run is replayed.")
@click.option("--wait/--no-wait", default=True, help="Wait for the verdict (default).")
@click.option("--inline", is_flag=True, help="Execute here instead of on a worker.")
@click.option("--timeout", "timeout_s", default=3600, help="Seconds to wait for the verdict.")
@user_options
def replay(
    run_id: uuid.UUID,
    reason: str,
    wait: bool,
    inline: bool,
    timeout_s: int,
    username: str,
    password_stdin: bool,
) -> None:
    """Replay RUN: same inputs by digest, steps, parameters and seed; compare the outputs.

    Exit status 0 when every output is identical, 1 when any differs or the replay fails.
    """
    with open_resources() as resources:
        identity = run_user_errors(lambda: login(resources, username, password_stdin))
        with resources.unit_of_work() as uow:
            ctx = resources.service_context(uow, identity)
            created = run_user_errors(lambda: runs.replay(ctx, run_id, reason=reason))
            uow.commit()
        click.echo(f"replay {created.id} of run {run_id} queued")
        if inline:
            replay_module.execute_replay(job_resources(resources), created.id)
        if not (wait or inline):
            return
        deadline = time.monotonic() + timeout_s
        while True:
            with resources.unit_of_work() as uow:
                view = runs.get_run(resources.service_context(uow, identity), created.id)
                if view.state.status in FINAL or time.monotonic() > deadline:
                    _show(view)
                    verdict = view.result.replay if view.result else None
                    break
            time.sleep(0.5)
    if verdict is None or verdict["verdict"] != "identical":
        raise SystemExit(1)
