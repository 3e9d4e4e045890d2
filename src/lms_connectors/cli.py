"""The ``lms-connectors`` command: setting up, checking and syncing adapters, and training operations.

Commands: ``demo``, ``adapters``, ``doctor``, ``sync``, ``audit``, ``matrix``, and the training-operations
commands ``plan``, ``apply``, ``rollback``, ``report`` and ``reminders`` (:mod:`lms_connectors.operations`).

Built with typer (argument parsing, help) and rich (progress lines and tables); imports of adapters and of
the demo happen inside the commands so that ``lms-connectors --help`` stays instant.

A user's mistake (an unknown adapter, a missing or malformed file, a refused configuration) ends in one red
line and exit status 1, never a traceback. When the output is not a terminal (piped, redirected) lines are not
wrapped, so ids and links stay whole for ``grep`` and scripts.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from lms_connectors.errors import ConnectorError

app = typer.Typer(
    help="Schedule instructor-led and virtual training sessions across LMSs, calendars and meeting platforms.",
    no_args_is_help=True,
    add_completion=False,
)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _make_console() -> Console:
    # Rich wraps at 80 columns when it cannot ask a terminal; a pipe gets whole lines instead (COLUMNS still wins).
    piped = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(highlight=False, width=100_000 if piped else None)


console = _make_console()


def _fail(what: str, problem: object) -> typer.Exit:
    """Print a user's mistake as one red line; the caller raises the returned exit (status 1)."""
    console.print(f"[red]{what}:[/red] {problem}", soft_wrap=True)
    return typer.Exit(1)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"lms-connectors {version('lms-connectors')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("lms-connectors (not installed)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log more: -v for INFO, -vv for DEBUG (to stderr).")
    ] = 0,
    log_level: Annotated[
        str | None,
        typer.Option(help=f"Log level of the lms_connectors loggers: {', '.join(LOG_LEVELS)} (overrides -v)."),
    ] = None,
) -> None:
    """Schedule instructor-led and virtual training sessions across LMSs, calendars and meeting platforms."""
    global console
    console = _make_console()
    if log_level is not None and log_level.upper() not in LOG_LEVELS:
        raise typer.BadParameter(f"{log_level!r} is not one of {', '.join(LOG_LEVELS)}", param_hint="--log-level")
    level = log_level.upper() if log_level else ("WARNING", "INFO", "DEBUG")[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("lms_connectors")
    root.handlers[:] = [handler]
    root.setLevel(level)


@app.command()
def adapters() -> None:
    """List installed adapters with their kind and capabilities."""
    from lms_connectors.registry import available_adapters, load_adapter_class

    table = Table(title="Installed adapters")
    for column in ("name", "kind", "capabilities", "distribution"):
        table.add_column(column)
    for info in available_adapters():
        try:
            cls = load_adapter_class(info.name)
        except ConnectorError as exc:
            table.add_row(info.name, "?", f"[red]cannot load: {exc.message}[/red]", info.distribution or "")
            continue
        caps = ", ".join(sorted(c.value for c in cls.capabilities)) or "-"
        table.add_row(info.name, cls.kind.value, caps, info.distribution or "")
    if not table.rows:
        console.print(
            "No adapter is installed. Adapters are packages of their own: from a checkout, "
            "`pip install -r requirements-dev.txt` installs every in-tree one, or `pip install ./adapters/zoom` one "
            "of them; a vendor's adapter is found once its package is installed.",
            soft_wrap=True,
        )
        return
    console.print(table)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Where the SQLite ledger and the invites go.")] = Path(
        "lms-connectors-demo"
    ),
    quiet: Annotated[bool, typer.Option(help="Only print the summary.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(help="Use only this installed adapter (repeat the option); default: every installed one."),
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option(help="Run this plan file instead (e.g. examples/plans/spring-term.yaml): plan, apply, KPIs."),
    ] = None,
) -> None:
    """Schedule a small cohort on the providers' sandboxes (no network, no credentials); end with the KPIs."""
    if plan is not None:
        from lms_connectors.operations.commands import run_plan_demo

        console.print(f"[bold]lms-connectors demo[/bold] from {plan}: ledger and invites in {workdir}/")
        run_plan_demo(plan, workdir, only=set(only) if only else None, quiet=quiet)
        return
    from lms_connectors.demo import run_demo
    from lms_connectors.models import EnrollmentStatus
    from lms_connectors.scheduler import ProgressEvent

    def show(event: ProgressEvent) -> None:
        if quiet:
            return
        colour = {"done": "green", "failed": "red", "unchanged": "dim"}.get(event.outcome, "white")
        where = event.provider or "ledger"
        console.print(
            f"  [{colour}]{event.outcome:>9}[/{colour}]  {event.action:<10} {where:<16} {event.session_id}"
            + (f"  [dim]{event.detail}[/dim]" if event.detail else "")
        )

    started = time.perf_counter()
    console.print(f"[bold]lms-connectors demo[/bold]: ledger and invites in {workdir}/")
    try:
        report = run_demo(workdir, on_progress=show, only=set(only) if only else None)
    except ConnectorError as exc:
        raise _fail("demo failed", exc) from exc
    except OSError as exc:  # the work folder cannot be made or written (a file of that name, no permission)
        raise _fail("demo failed", f"cannot use {workdir}: {exc.strerror or exc}") from exc
    elapsed = time.perf_counter() - started

    console.print(f"adapters: {', '.join(report.adapters)}", soft_wrap=True)
    for what, why in report.skipped.items():
        console.print(f"[yellow]skipped {what}:[/yellow] {why}", soft_wrap=True)
    for session in report.sessions:
        table = Table(title=f"{session.title}  [dim]({session.id}, sequence {session.sequence})[/dim]")
        for column in ("learner", "zone", "status", "local start"):
            table.add_column(column)
        for person, status in report.rosters[session.id]:
            zone = person.timezone or session.slot.timezone
            local = session.slot.local_start(zone).strftime("%a %d %b %Y %H:%M %Z")
            style = {EnrollmentStatus.CONFIRMED: "green", EnrollmentStatus.WAITLISTED: "yellow"}.get(status, "dim")
            table.add_row(person.name, zone, f"[{style}]{status.value}[/{style}]", local)
        console.print(table)
        home = session.slot.local_start().strftime("%a %d %b %Y %H:%M %Z")
        where = (
            f"{session.room.name} (room held by {session.room.provider or 'its calendar'})"
            if session.room
            else (session.meeting.join_url if session.meeting else "-")
        )
        refs = ", ".join(f"{provider}={external}" for provider, external in report.refs[session.id])
        console.print(f"  starts {home}; {where}\n  provider objects: {refs}\n")
    for sid, clashes in report.refused.items():
        console.print(f"[red]refused {sid}: double booking[/red]", soft_wrap=True)
        for clash in clashes:
            console.print(f"  {clash}", soft_wrap=True)
    console.print(
        f"invites: {len(report.invites)}, waitlist notices: {len(report.notices)} in {workdir / 'invites'}/",
        soft_wrap=True,
    )
    console.print(f"provider HTTP calls this run: {report.provider_calls}", soft_wrap=True)
    console.print(f"elapsed: {elapsed:.2f} s", soft_wrap=True)
    if report.provider_calls == 0:
        console.print("[dim]Nothing to do: the ledger shows this plan was already applied.[/dim]")
    from lms_connectors.operations.commands import print_kpis

    print_kpis(workdir / "ledger.sqlite")


@app.command()
def doctor(
    adapter: Annotated[str, typer.Argument(help="Adapter name, e.g. moodle.")],
    config: Annotated[Path, typer.Option(help="JSON file with the adapter's configuration.")],
) -> None:
    """Check an adapter's configuration against the live provider (credentials, access, permissions, quotas)."""
    from lms_connectors.registry import create_adapter

    settings = _json_object(config, "doctor", "settings")
    try:
        instance = create_adapter(adapter, settings)
        checks = instance.diagnose()
    except ConnectorError as exc:
        console.print(f"[red]doctor failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    table = Table(title=f"doctor: {adapter}")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FAIL[/red]", check.detail)
    console.print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


def _json_object(path: Path, command: str, what: str) -> dict[str, Any]:
    """The JSON object in ``path``, or a one-line failure of ``command``."""
    try:
        value: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _fail(command, f"cannot read the configuration file {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _fail(command, f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise _fail(command, f"{path} must hold a JSON object of {what}, not {type(value).__name__}")
    return value


@app.command()
def sync(
    config: Annotated[
        Path, typer.Option(help="JSON file: an object mapping each adapter's name to that adapter's configuration.")
    ],
    ledger: Annotated[Path, typer.Option(help="The SQLite ledger file.")] = Path("lms-connectors-ledger.sqlite3"),
) -> None:
    """Make every provider equal the ledger, for every session: after failures, one sync converges.

    Each session's objects are read back; gone ones are made again, moved ones moved to the ledger's slot,
    rosters reconciled (uncertain pushes included), cancels in progress finished, and what failed creates left
    removed. One progress line per session; exit status 1 if any session could not be synced.
    """
    from lms_connectors.registry import create_adapter
    from lms_connectors.scheduler import ProgressEvent, Scheduler
    from lms_connectors.store.sqlite import SQLiteLedger

    if not ledger.is_file():
        raise _fail("sync", f"no ledger at {ledger}")
    configs = _json_object(config, "sync", "adapter configurations")
    adapters = []
    try:
        for name, settings in configs.items():
            if not isinstance(settings, dict):
                raise _fail("sync", f"the configuration of {name!r} in {config} must be a JSON object")
            adapters.append(create_adapter(name, settings))
    except ConnectorError as exc:
        raise _fail("sync", exc) from exc

    def show(event: ProgressEvent) -> None:
        colour = {"done": "green", "failed": "red"}.get(event.outcome, "white")
        where = event.provider or "ledger"
        console.print(
            f"  [{colour}]{event.outcome:>9}[/{colour}]  {event.action:<10} {where:<16} {event.session_id}"
            + (f"  [dim]{event.detail}[/dim]" if event.detail else ""),
            soft_wrap=True,
        )

    store = SQLiteLedger(ledger)
    try:
        summary = Scheduler(adapters, store, on_progress=show).sync_all()
    finally:
        store.close()
        for adapter in adapters:
            adapter.close()
    console.print(f"synced: {len(summary.synced)}, failed: {len(summary.failed)}", soft_wrap=True)
    if summary.failed:
        raise typer.Exit(1)


@app.command()
def audit(
    session_id: Annotated[str, typer.Argument(help="The session's id (Session.id).")],
    ledger: Annotated[
        Path, typer.Option(help="The SQLite ledger file (the demo's is lms-connectors-demo/ledger.sqlite).")
    ] = Path("lms-connectors-ledger.sqlite3"),
) -> None:
    """Print a session's history from the ledger's audit log (creates with their look-ups and lost answers)."""
    from lms_connectors.store.sqlite import SQLiteLedger

    if not ledger.is_file():
        console.print(f"[red]no ledger at {ledger}[/red]")
        raise typer.Exit(1)
    store = SQLiteLedger(ledger)
    try:
        entries = list(store.iter_audit(session_id))
    finally:
        store.close()
    if not entries:
        console.print(f"[red]the ledger has no history of session {session_id!r}[/red]")
        raise typer.Exit(1)
    table = Table(title=f"audit: {session_id}")
    for column in ("at (UTC)", "provider", "action", "detail"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        detail = json.dumps(entry.detail, sort_keys=True, default=str, separators=(", ", ": "))
        table.add_row(entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.provider or "-", entry.action, detail)
    console.print(table)


@app.command()
def matrix(
    results: Annotated[
        Path, typer.Option(help="Contract results written by `pytest -m lmsc_contract --lmsc-results=FILE`.")
    ] = Path("contract-results.json"),
) -> None:
    """Print the support matrix: the installed adapters' capabilities and what each contract case did."""
    from lms_connectors.support_matrix import render_support_matrix
    from lms_connectors.testing.results import load_results

    try:
        loaded = load_results(results)
    except (OSError, ValueError) as exc:
        raise _fail(
            "matrix",
            f"cannot read contract results {results}: {exc}. "
            f"Run the contract suite first: pytest -m lmsc_contract --lmsc-results={results}",
        ) from exc
    typer.echo(render_support_matrix(loaded), nl=False)


# plan, apply, rollback, report, reminders: the training-operations commands live beside their code.
from lms_connectors.operations.commands import register as _register_operations  # noqa: E402

_register_operations(app)


def main() -> None:
    """Entry point of the ``lms-connectors`` console script."""
    try:
        app()
    except ConnectorError as exc:  # a mistake no command foresaw still ends in one line, not a traceback
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(1)
