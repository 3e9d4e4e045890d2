"""The training-operations commands: ``plan``, ``apply``, ``rollback``, ``attendance``, ``report`` and ``reminders``.

They are registered on the ``lms-connectors`` command (:mod:`lms_connectors.cli`). ``plan``, ``apply`` and
``rollback`` reach the providers through the adapters a JSON file configures (``--config``, as ``sync`` does),
or, with ``--sandbox``, through the installed adapters' simulators served on 127.0.0.1 (the demo's way: no
network, no credentials; the simulators live for one command, so a rollback in a later command finds nothing
there to undo).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lms_connectors import cli
from lms_connectors.errors import ConnectorError

__all__ = ["register"]

LedgerOption = Annotated[Path, typer.Option(help="The SQLite ledger file.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(help="JSON file mapping each adapter's name to its configuration (as for `sync`)."),
]
SandboxOption = Annotated[
    bool, typer.Option(help="Use the installed adapters' simulators on 127.0.0.1 instead of --config.")
]


@contextlib.contextmanager
def _scheduler(
    config: Path | None, ledger: Path, sandbox: bool, command: str, only: set[str] | None = None
) -> Iterator[Any]:
    from lms_connectors.registry import available_adapters, create_adapter, load_harness
    from lms_connectors.scheduler import Scheduler
    from lms_connectors.store.sqlite import SQLiteLedger
    from lms_connectors.testing.sandboxed import sandboxed_adapters

    if sandbox == (config is not None):
        raise cli._fail(command, "give either --config FILE or --sandbox")
    ledger.parent.mkdir(parents=True, exist_ok=True)
    store = SQLiteLedger(ledger)
    try:
        if sandbox:
            names = []
            for info in available_adapters():
                if only is not None and info.name not in only:
                    continue
                try:
                    load_harness(info.name)
                except ConnectorError:
                    continue
                names.append(info.name)
            with sandboxed_adapters(names) as served:
                yield Scheduler(list(served.adapters.values()), store), served
        else:
            assert config is not None
            configs = cli._json_object(config, command, "adapter configurations")
            adapters = [create_adapter(name, settings) for name, settings in configs.items()]
            try:
                yield Scheduler(adapters, store), None
            finally:
                for adapter in adapters:
                    adapter.close()
    finally:
        store.close()


def _load(plan_file: Path, command: str) -> tuple[Any, Any]:
    from lms_connectors.operations.plan_file import load_plan

    try:
        return load_plan(plan_file)
    except ConnectorError as exc:
        raise cli._fail(command, exc.message) from exc


def _show_preview(previews: list[Any]) -> None:
    table = Table(title="plan")
    for column in ("session", "provider", "step", "detail"):
        table.add_column(column, overflow="fold")
    for item in previews:
        for step in item.steps:
            table.add_row(item.spec.id, step.provider or "ledger", step.kind.value, step.detail)
        if item.assignment is not None and item.assignment.instructor is not None:
            table.add_row(item.spec.id, "ledger", "assign", f"{item.assignment.instructor}: "
                          + "; ".join(item.assignment.reasons))
        for problem in item.problems:
            colour = "red" if problem.severity.value == "error" else "yellow"
            table.add_row(item.spec.id, "-", f"[{colour}]{problem.severity.value}[/{colour}]", problem.message)
    cli.console.print(table)


def plan(
    plan_file: Annotated[Path, typer.Argument(help="The plan (YAML).")],
    ledger: LedgerOption = Path("lms-connectors-ledger.sqlite3"),
    config: ConfigOption = None,
    sandbox: SandboxOption = False,
    ask_providers: Annotated[
        bool,
        typer.Option(help="Read the providers (never write): instructors' and rooms' free/busy, and each "
                     "adapter's doctor checks for missing permissions, and what writing completion needs in each "
                     "LMS a session's completion: names."),
    ] = True,
) -> None:
    """Show what `apply` would do per session and provider, and every problem found, without any write."""
    from lms_connectors.operations.planning import permission_problems, preview

    loaded, rows = _load(plan_file, "plan")
    with _scheduler(config, ledger, sandbox, "plan") as (scheduler, _served):
        try:
            previews = preview(loaded, rows, scheduler, ask_providers=ask_providers)
            permissions = permission_problems(scheduler, previews) if ask_providers else []
        except ConnectorError as exc:
            raise cli._fail("plan", exc) from exc
    _show_preview(previews)
    for problem in permissions:
        cli.console.print(f"[red]error[/red] {problem.message}", soft_wrap=True)
    changes = sum(1 for p in previews if p.changes)
    errors = sum(1 for p in previews if p.blocked)
    cli.console.print(
        f"sessions: {len(previews)}, to change: {changes}, with errors: {errors}, permission problems: "
        + (str(len(permissions)) if ask_providers else "not checked (--no-ask-providers)"),
        soft_wrap=True,
    )
    if errors or permissions:
        raise typer.Exit(1)


def apply(
    plan_file: Annotated[Path, typer.Argument(help="The plan (YAML).")],
    ledger: LedgerOption = Path("lms-connectors-ledger.sqlite3"),
    config: ConfigOption = None,
    sandbox: SandboxOption = False,
    invites: Annotated[
        Path | None, typer.Option(help="Folder for each learner's .ics invite, with the plan's reminders as VALARMs.")
    ] = None,
) -> None:
    """Make the plan so: create, move, cancel, enrol, idempotently; a second apply makes no call."""
    from lms_connectors.invite_folder import sync_invites
    from lms_connectors.operations.applying import apply_plan
    from lms_connectors.operations.planning import preview_for_apply
    from lms_connectors.operations.reminders import alarm_offsets

    loaded, rows = _load(plan_file, "apply")
    calls = 0
    with _scheduler(config, ledger, sandbox, "apply") as (scheduler, served):
        try:
            previews = preview_for_apply(loaded, rows, scheduler)
        except ConnectorError as exc:  # a provider's free/busy could not be read: nothing was written
            raise cli._fail("apply", exc) from exc

        def show(session_id: str, step: str, detail: str) -> None:
            cli.console.print(f"  [green]{step:>8}[/green]  {session_id}  [dim]{detail}[/dim]", soft_wrap=True)

        report = apply_plan(previews, scheduler, on_step=show)
        calls = served.calls() if served is not None else sum(a.call_count for a in scheduler.adapters)
        written = 0
        for spec in loaded.sessions:
            session = scheduler.ledger.get_session(spec.id)
            if invites is None or session is None:
                continue
            offsets = alarm_offsets(spec.reminders if spec.reminders is not None else loaded.reminders)
            result = sync_invites(session, scheduler.roster(spec.id), invites, reminders=offsets)
            written += len(result.written)
    if invites is not None:
        cli.console.print(f"invites written: {written} in {invites}/", soft_wrap=True)
    for session_id, why in report.skipped:
        cli.console.print(f"[yellow]skipped {session_id}:[/yellow] {why}", soft_wrap=True)
    for session_id, error in report.failed:
        cli.console.print(f"[red]failed {session_id}:[/red] {error}", soft_wrap=True)
    cli.console.print(
        f"apply {report.apply_id or '-'}: {len(report.done)} changes, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed; provider HTTP calls this run: {calls}",
        soft_wrap=True,
    )
    if report.failed or report.skipped:
        raise typer.Exit(1)


def rollback(
    ledger: LedgerOption = Path("lms-connectors-ledger.sqlite3"),
    config: ConfigOption = None,
    sandbox: SandboxOption = False,
) -> None:
    """Undo the last apply (newest change first), driven by the ledger's audit log."""
    from lms_connectors.operations.applying import rollback_last_apply

    if not ledger.is_file():
        raise cli._fail("rollback", f"no ledger at {ledger}")
    with _scheduler(config, ledger, sandbox, "rollback") as (scheduler, _served):
        report = rollback_last_apply(scheduler)
    if report.apply_id is None:
        cli.console.print("nothing to roll back: no apply in the ledger's audit log", soft_wrap=True)
        return
    for session_id, what in report.undone:
        cli.console.print(f"  [green]undone[/green]  {session_id}  {what}", soft_wrap=True)
    for session_id, why in report.not_undone:
        cli.console.print(f"  [red]not undone[/red]  {session_id}  {why}", soft_wrap=True)
    cli.console.print(f"rolled back apply {report.apply_id}", soft_wrap=True)
    if report.not_undone:
        raise typer.Exit(1)


def attendance(
    plan_file: Annotated[Path, typer.Argument(help="The plan (YAML) whose session it is.")],
    session_id: Annotated[str, typer.Argument(help="The session's id in the plan.")],
    ledger: LedgerOption = Path("lms-connectors-ledger.sqlite3"),
    config: ConfigOption = None,
    sign_in: Annotated[
        Path | None,
        typer.Option("--csv", help="A sign-in CSV (email, joined[, left]); default: the meeting providers."),
    ] = None,
    completion: Annotated[
        bool, typer.Option(help="Write completion to the LMSs the plan's `completion:` names for the session.")
    ] = True,
) -> None:
    """Record who attended a past session, then write completion back to its LMSs (once: a rerun makes no call)."""
    from lms_connectors.operations.attendance import collect_attendance, read_attendance_csv, record_attendance
    from lms_connectors.operations.completion import write_completion

    loaded, _rows = _load(plan_file, "attendance")
    items = loaded.completion_items(session_id)
    if not any(spec.id == session_id for spec in loaded.sessions):
        raise cli._fail("attendance", f"{session_id!r} is not a session of {plan_file.name}")
    if not ledger.is_file():
        raise cli._fail("attendance", f"no ledger at {ledger}")
    with _scheduler(config, ledger, False, "attendance") as (scheduler, _served):
        try:
            if sign_in is not None:
                strays = record_attendance(scheduler.ledger, session_id, read_attendance_csv(sign_in))
            else:
                strays = [p for found in collect_attendance(scheduler, session_id).values() for p in found]
            result = write_completion(scheduler, session_id, items) if completion else None
        except ConnectorError as exc:
            raise cli._fail("attendance", exc) from exc
    for presence in strays:
        cli.console.print(f"[yellow]not on the roster:[/yellow] {presence.email}", soft_wrap=True)
    if result is None:
        return
    for provider, email, state in result.written:
        cli.console.print(f"  [green]{state.value:>10}[/green]  {provider}  {email}", soft_wrap=True)
    for provider, why in result.skipped:
        cli.console.print(f"[yellow]completion not written to {provider}:[/yellow] {why}", soft_wrap=True)
    for provider, error in result.failed:
        cli.console.print(f"[red]completion refused by {provider}:[/red] {error}", soft_wrap=True)
    cli.console.print(
        f"completion: {len(result.written)} written, {len(result.kept)} already written, {len(result.failed)} LMS "
        f"refused; provider HTTP calls: {result.calls}",
        soft_wrap=True,
    )
    if result.failed:
        raise typer.Exit(1)


def report(
    ledger: LedgerOption = Path("lms-connectors-ledger.sqlite3"),
    out: Annotated[Path | None, typer.Option(help="Folder for kpis.csv, kpis.json and kpis.png.")] = None,
    chart: Annotated[bool, typer.Option(help="Also draw kpis.png (needs the 'reports' extra).")] = True,
) -> None:
    """Print the KPIs (utilisation, waitlist, no-shows, cancellations, time to schedule, provider failures)."""
    from lms_connectors.operations.report_files import write_chart, write_csv, write_json

    if not ledger.is_file():
        raise cli._fail("report", f"no ledger at {ledger}")
    kpis = print_kpis(ledger)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        written = [write_csv(kpis, out / "kpis.csv"), write_json(kpis, out / "kpis.json")]
        if chart:
            try:
                written.append(write_chart(kpis, out / "kpis.png"))
            except ConnectorError as exc:
                cli.console.print(f"[yellow]no chart:[/yellow] {exc.message}", soft_wrap=True)
        cli.console.print("wrote " + ", ".join(str(p) for p in written), soft_wrap=True)


def print_kpis(ledger: Path) -> Any:
    """Compute the KPIs of the SQLite ledger at ``ledger``, print them as a table, and return them."""
    from lms_connectors.operations.kpis import compute_kpis
    from lms_connectors.store.sqlite import SQLiteLedger

    store = SQLiteLedger(ledger)
    try:
        kpis = compute_kpis(store)
    finally:
        store.close()
    table = Table(title="KPIs")
    for column in ("kpi", "value", "made of"):
        table.add_column(column)
    for row in kpis.rows():
        table.add_row(*row)
    cli.console.print(table)
    return kpis


def run_plan_demo(plan_file: Path, workdir: Path, *, only: set[str] | None, quiet: bool) -> None:
    """The demo from a plan file: show the plan, apply it on the sandboxes, write invites, end with the KPIs."""
    from lms_connectors.invite_folder import sync_invites
    from lms_connectors.operations.applying import apply_plan
    from lms_connectors.operations.planning import preview_for_apply
    from lms_connectors.operations.reminders import alarm_offsets

    loaded, rows = _load(plan_file, "demo")
    ledger = workdir / "ledger.sqlite"
    with _scheduler(None, ledger, True, "demo", only) as (scheduler, served):
        previews = preview_for_apply(loaded, rows, scheduler)
        if not quiet:
            _show_preview(previews)
        report = apply_plan(previews, scheduler)
        written = 0
        for spec in loaded.sessions:
            session = scheduler.ledger.get_session(spec.id)
            if session is not None:
                offsets = alarm_offsets(spec.reminders if spec.reminders is not None else loaded.reminders)
                result = sync_invites(session, scheduler.roster(spec.id), workdir / "invites", reminders=offsets)
                written += len(result.written)
        calls = served.calls()
    for session_id, why in [*report.skipped, *report.failed]:
        cli.console.print(f"[red]not applied {session_id}:[/red] {why}", soft_wrap=True)
    cli.console.print(f"applied: {len(report.done)} changes; invites written: {written} in {workdir / 'invites'}/",
                      soft_wrap=True)
    cli.console.print(f"provider HTTP calls this run: {calls}", soft_wrap=True)
    print_kpis(ledger)
    if report.skipped or report.failed:
        raise typer.Exit(1)


def reminders(
    ledger: LedgerOption = Path("lms-connectors-ledger.sqlite3"),
    since: Annotated[str | None, typer.Option(help="ISO 8601 instant with offset; default: now.")] = None,
    hours: Annotated[float, typer.Option(help="Window length after --since, in hours.")] = 24.0,
    offsets: Annotated[str, typer.Option(help="Comma-separated offsets before the start.")] = "7d,1d,1h",
) -> None:
    """Print the reminders due in a window as JSON lines, for an app to send (the SDK sends no mail)."""
    from lms_connectors.operations.reminders import alarm_offsets, due_reminders
    from lms_connectors.store.sqlite import SQLiteLedger

    if not ledger.is_file():
        raise cli._fail("reminders", f"no ledger at {ledger}")
    try:
        start = datetime.fromisoformat(since) if since else datetime.now(UTC)
        chosen = alarm_offsets(o for o in offsets.split(",") if o.strip())
    except ValueError as exc:
        raise cli._fail("reminders", exc) from exc
    if start.tzinfo is None:
        raise cli._fail("reminders", "--since needs an offset (e.g. 2027-03-15T09:00:00+00:00)")
    store = SQLiteLedger(ledger)
    try:
        for due in due_reminders(store, since=start, until=start + timedelta(hours=hours), offsets=chosen):
            typer.echo(json.dumps({
                "key": due.key, "session_id": due.session_id, "email": due.email,
                "due_at": due.due_at.isoformat(), "starts_local": due.starts_local, "title": due.title,
                "join_url": due.join_url,
            }))
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``app``."""
    for command in (plan, apply, rollback, attendance, report, reminders):
        app.command()(command)
