"""The command line (`aftercare …`): patients, invites, sessions, schedules, staff, protocols."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from bot import app
from bot.config import Settings, load_settings
from bot.db.migrate import upgrade
from bot.db.models import ScheduledMessage
from bot.domain.protocol import ProtocolError, format_duration
from bot.domain.triage import FLAGS, SYMPTOMS, Severity, assess
from bot.domain.triage import Report as TriageReport
from bot.errors import AftercareError, BadInput, ConfigError
from bot.i18n import I18n
from bot.services import checkins, escalations, health, imports, patients, sessions, staff
from bot.services.context import Context
from bot.services.protocols import load_protocol_file, load_protocols, missing_translations
from bot.services.vocabulary import reason_text

T = TypeVar("T")


def _settings(obj: dict[str, Any]) -> Settings:
    if "settings" not in obj:
        obj["settings"] = load_settings()
    settings = obj["settings"]
    assert isinstance(settings, Settings)
    return settings


def _with_context(obj: dict[str, Any], work: Callable[[Context], Awaitable[T]]) -> T:
    settings = _settings(obj)

    async def _run() -> T:
        async with app.open_context(settings) as ctx:
            return await work(ctx)

    return asyncio.run(_run())


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _emit(as_json: bool, data: Any, columns: Sequence[str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _table(data if isinstance(data, list) else [data], columns)


def _message(row: ScheduledMessage, zone: str) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    return {
        "id": row.id,
        "session": row.session_id,
        "audience": str(row.audience),
        "step": row.step_key,
        "kind": row.kind,
        "due_at": _iso(row.due_at),
        "local": row.due_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z"),
        "useful_until": _iso(row.useful_until),
        "status": str(row.status),
        "attempts": row.attempts,
        "last_error": row.last_error,
        "telegram_message_id": row.telegram_message_id,
        "sent_at": _iso(row.sent_at),
    }


MESSAGE_COLUMNS = ("id", "session", "step", "kind", "local", "status", "attempts", "last_error")
JSON_FLAG = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(click_ctx: click.Context) -> None:
    """Aftercare follow-up bot for aesthetic clinics."""
    click_ctx.ensure_object(dict)


# --- database -----------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: dict[str, Any]) -> None:
    """Create the database, or bring it to the newest schema."""
    upgrade(_settings(obj).database_url)
    click.echo("database is up to date")


# --- patients -----------------------------------------------------------------------------------
@cli.group()
def patient() -> None:
    """Patients."""


def _patient(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "language": p.language,
        "timezone": p.timezone,
        "status": str(p.status),
        "telegram_linked": p.telegram_user_id is not None,
        "consent_at": _iso(p.consent_at),
    }


PATIENT_COLUMNS = ("id", "name", "language", "timezone", "status", "telegram_linked")


@patient.command("add")
@click.argument("name")
@click.option("--language", help="Language code (default: the clinic's).")
@click.option("--timezone", help="IANA zone such as Europe/Paris (default: the clinic's).")
@JSON_FLAG
@click.pass_obj
def patient_add(
    obj: dict[str, Any], name: str, language: str | None, timezone: str | None, as_json: bool
) -> None:
    """Add a patient."""
    added = _with_context(obj, lambda ctx: patients.add_patient(ctx, name, language, timezone))
    _emit(as_json, _patient(added), PATIENT_COLUMNS)


@patient.command("list")
@JSON_FLAG
@click.pass_obj
def patient_list(obj: dict[str, Any], as_json: bool) -> None:
    """List patients."""
    found = _with_context(obj, patients.list_patients)
    _emit(as_json, [_patient(p) for p in found], PATIENT_COLUMNS)


@patient.command("show")
@click.argument("patient_id")
@JSON_FLAG
@click.pass_obj
def patient_show(obj: dict[str, Any], patient_id: str, as_json: bool) -> None:
    """Show a patient with their sessions and messages."""
    view = _with_context(obj, lambda ctx: patients.show_patient(ctx, patient_id))
    data = _patient(view.patient)
    data["sessions"] = [
        {
            "id": s.id,
            "treatment": s.treatment,
            "area": s.area,
            "starts_at": _iso(s.starts_at),
            "status": str(s.status),
        }
        for s in view.sessions
    ]
    data["messages"] = [_message(m, view.patient.timezone) for m in view.messages]
    if as_json:
        _emit(True, data, ())
        return
    _table([data], PATIENT_COLUMNS)
    click.echo("\nSessions:")
    _table(data["sessions"], ("id", "treatment", "area", "starts_at", "status"))
    click.echo("\nMessages:")
    _table(data["messages"], MESSAGE_COLUMNS)


@patient.command("set")
@click.argument("patient_id")
@click.option("--language", help="Language code, e.g. fr.")
@click.option("--timezone", help="IANA zone; what is not yet sent is planned again in it.")
@JSON_FLAG
@click.pass_obj
def patient_set(
    obj: dict[str, Any], patient_id: str, language: str | None, timezone: str | None, as_json: bool
) -> None:
    """Change a patient's language or time zone."""
    if language is None and timezone is None:
        raise BadInput("nothing to change: give --language or --timezone")
    changed = _with_context(
        obj, lambda ctx: patients.update_patient(ctx, patient_id, language, timezone)
    )
    _emit(as_json, _patient(changed), PATIENT_COLUMNS)


@cli.command("invite")
@click.argument("patient_id")
@JSON_FLAG
@click.pass_obj
def invite(obj: dict[str, Any], patient_id: str, as_json: bool) -> None:
    """Print a one-time invite link for a patient."""
    link = _with_context(obj, lambda ctx: patients.create_invite(ctx, patient_id))
    data = {"patient": link.patient_id, "link": link.link, "expires_at": _iso(link.expires_at)}
    _emit(as_json, data, ("patient", "link", "expires_at"))


# --- sessions -----------------------------------------------------------------------------------
@cli.group("session")
def session_group() -> None:
    """Treatment sessions."""


def _plan(plan: sessions.SessionPlan, zone: str) -> dict[str, Any]:
    s = plan.session
    return {
        "id": s.id,
        "patient": s.patient_id,
        "treatment": s.treatment,
        "area": s.area,
        "starts_at": _iso(s.starts_at),
        "status": str(s.status),
        "messages": [_message(m, zone) for m in plan.messages],
    }


def _show_plan(
    obj: dict[str, Any], as_json: bool, work: Callable[[Context], Awaitable[Any]]
) -> None:
    async def _both(ctx: Context) -> dict[str, Any]:
        plan = await work(ctx)
        patient_row = await patients.find_patient(ctx, str(plan.session.patient_id))
        return _plan(plan, patient_row.timezone)

    data = _with_context(obj, _both)
    if as_json:
        _emit(True, data, ())
        return
    _table([data], ("id", "patient", "treatment", "area", "starts_at", "status"))
    click.echo("")
    _table(data["messages"], MESSAGE_COLUMNS)


@session_group.command("add")
@click.argument("patient_id")
@click.option("--treatment", required=True, help="Protocol name: face, eye-area, scalp, body …")
@click.option(
    "--at", "starts_at", required=True, help="Start, patient's local time: 2026-03-01 10:30"
)
@click.option("--area", default="", help="Treated area, as staff describe it.")
@JSON_FLAG
@click.pass_obj
def session_add(
    obj: dict[str, Any], patient_id: str, treatment: str, starts_at: str, area: str, as_json: bool
) -> None:
    """Register a session and plan its aftercare messages."""
    _show_plan(
        obj, as_json, lambda ctx: sessions.add_session(ctx, patient_id, treatment, starts_at, area)
    )


@session_group.command("move")
@click.argument("session_id", type=int)
@click.option("--at", "starts_at", required=True, help="New start, patient's local time.")
@JSON_FLAG
@click.pass_obj
def session_move(obj: dict[str, Any], session_id: int, starts_at: str, as_json: bool) -> None:
    """Move a session; what is not yet sent is planned again."""
    _show_plan(obj, as_json, lambda ctx: sessions.move_session(ctx, session_id, starts_at))


@session_group.command("cancel")
@click.argument("session_id", type=int)
@JSON_FLAG
@click.pass_obj
def session_cancel(obj: dict[str, Any], session_id: int, as_json: bool) -> None:
    """Cancel a session and what is not yet sent."""
    _show_plan(obj, as_json, lambda ctx: sessions.cancel_session(ctx, session_id))


@cli.command("schedule")
@click.argument("patient_id")
@JSON_FLAG
@click.pass_obj
def schedule(obj: dict[str, Any], patient_id: str, as_json: bool) -> None:
    """Every message planned for a patient, with its outcome."""
    view = _with_context(obj, lambda ctx: patients.show_patient(ctx, patient_id))
    _emit(as_json, [_message(m, view.patient.timezone) for m in view.messages], MESSAGE_COLUMNS)


# --- staff --------------------------------------------------------------------------------------
@cli.group("staff")
def staff_group() -> None:
    """Staff members who may act on alerts."""


def _staff(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "telegram_user_id": m.telegram_user_id,
        "name": m.name,
        "role": str(m.role),
        "on_call": m.is_on_call,
    }


STAFF_COLUMNS = ("id", "telegram_user_id", "name", "role", "on_call")


@staff_group.command("add")
@click.argument("telegram_user_id", type=int)
@click.option("--name", required=True)
@click.option("--role", default="nurse", show_default=True, help="nurse, clinician or admin")
@click.option(
    "--on-call/--not-on-call",
    default=True,
    show_default=True,
    help="Direct messages when an alert is not acknowledged in time.",
)
@JSON_FLAG
@click.pass_obj
def staff_add(
    obj: dict[str, Any], telegram_user_id: int, name: str, role: str, on_call: bool, as_json: bool
) -> None:
    """Register a staff member by Telegram user id."""
    member = _with_context(
        obj, lambda ctx: staff.add_staff(ctx, telegram_user_id, name, role, on_call)
    )
    _emit(as_json, _staff(member), STAFF_COLUMNS)


@staff_group.command("list")
@JSON_FLAG
@click.pass_obj
def staff_list(obj: dict[str, Any], as_json: bool) -> None:
    """List staff members."""
    _emit(as_json, [_staff(m) for m in _with_context(obj, staff.list_staff)], STAFF_COLUMNS)


@staff_group.command("remove")
@click.argument("telegram_user_id", type=int)
@JSON_FLAG
@click.pass_obj
def staff_remove(obj: dict[str, Any], telegram_user_id: int, as_json: bool) -> None:
    """Remove a staff member."""
    member = _with_context(obj, lambda ctx: staff.remove_staff(ctx, telegram_user_id))
    _emit(as_json, _staff(member), STAFF_COLUMNS)


# --- protocols ----------------------------------------------------------------------------------
@cli.group()
def protocol() -> None:
    """Aftercare protocols."""


def _protocols(obj: dict[str, Any]) -> dict[str, Any]:
    return load_protocols(_settings(obj).protocols_dir)


@protocol.command("list")
@JSON_FLAG
@click.pass_obj
def protocol_list(obj: dict[str, Any], as_json: bool) -> None:
    """List the protocols in use (shipped, and the clinic's own)."""
    rows = [
        {"treatment": p.treatment, "title": p.title, "steps": len(p.steps), "source": p.source}
        for p in sorted(_protocols(obj).values(), key=lambda p: p.treatment)
    ]
    _emit(as_json, rows, ("treatment", "title", "steps", "source"))


def _steps(p: Any) -> list[dict[str, Any]]:
    return [
        {
            "step": s.key,
            "kind": str(s.kind),
            "offset": format_duration(s.offset),
            "window": f"{s.window.start:%H:%M}-{s.window.end:%H:%M}" if s.window else None,
            "useful_for": format_duration(s.useful_for),
            "text": s.text,
        }
        for s in p.steps
    ]


@protocol.command("show")
@click.argument("treatment")
@JSON_FLAG
@click.pass_obj
def protocol_show(obj: dict[str, Any], treatment: str, as_json: bool) -> None:
    """Show a protocol's steps."""
    found = _protocols(obj)
    if treatment not in found:
        raise BadInput(f"unknown treatment {treatment!r} (known: {', '.join(sorted(found))})")
    p = found[treatment]
    if as_json:
        _emit(True, {"treatment": p.treatment, "title": p.title, "steps": _steps(p)}, ())
        return
    click.echo(f"{p.title} ({p.treatment}) — {p.source}")
    _table(_steps(p), ("step", "kind", "offset", "window", "useful_for"))


@protocol.command("check")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_obj
def protocol_check(obj: dict[str, Any], file: Path) -> None:
    """Check a protocol file; its mistakes are named with the step and field."""
    p = load_protocol_file(file)
    click.echo(f"{file}: ok — {p.treatment}, {len(p.steps)} steps")
    i18n = I18n.shipped(_settings(obj).default_language)
    default = i18n.default
    for step, langs in missing_translations(p, i18n).items():
        click.echo(
            f"  step {step!r}: no text in {', '.join(langs)} — those patients get the "
            f"{default} text"
        )


@cli.group("import")
def import_group() -> None:
    """Bulk imports (for booking systems)."""


@import_group.command("sessions")
@click.argument("file", type=click.File("r", encoding="utf-8-sig"))
@JSON_FLAG
@click.pass_obj
def import_sessions_command(obj: dict[str, Any], file: Any, as_json: bool) -> None:
    """Patients and sessions from a CSV file (columns: patient, patient_id, language,
    timezone, treatment, starts_at, area). Every row is checked first; with any mistake nothing
    is imported and each bad row gets a line."""
    text = file.read()
    total = max(0, text.count("\n") - 1)

    async def work(ctx: Context) -> imports.ImportResult:
        # the bar is for people at a terminal; scripts and --json get only the result
        hidden = as_json or not sys.stderr.isatty()
        with click.progressbar(
            length=total, label="importing", file=sys.stderr, hidden=hidden
        ) as bar:
            return await imports.import_sessions(ctx, text, bar.update)

    try:
        result = _with_context(obj, work)
    except imports.ImportRefused as refused:
        for problem in refused.problems:
            click.echo(f"error: {problem}", err=True)
        raise
    data = {"patients": result.patients, "sessions": result.sessions, "messages": result.messages}
    _emit(as_json, data, ("patients", "sessions", "messages"))


# --- check-ins and escalations -----------------------------------------------------------------
def _pairs(values: Sequence[str], what: str) -> dict[str, Severity]:
    result: dict[str, Severity] = {}
    for value in values:
        name, sep, level = value.partition("=")
        if not sep:
            raise BadInput(f"{what} {value!r} must look like swelling=severe")
        if name not in SYMPTOMS:
            raise BadInput(f"unknown symptom {name!r} (known: {', '.join(SYMPTOMS)})")
        try:
            result[name] = Severity.parse(level)
        except ValueError:
            names = ", ".join(s.name.lower() for s in Severity)
            raise BadInput(f"unknown severity {level!r} (known: {names})") from None
    return result


@cli.command("triage")
@click.option("--treatment", required=True, help="Protocol whose rules to use: face, body …")
@click.option("--hours-since", type=float, required=True, help="Hours since the session started.")
@click.option("--symptom", "symptoms", multiple=True, help="NAME=SEVERITY, e.g. swelling=severe")
@click.option("--flag", "flags", multiple=True, help="A red flag, e.g. fever")
@click.option("--previous", multiple=True, help="NAME=SEVERITY at the last check-in")
@JSON_FLAG
@click.pass_obj
def triage_command(
    obj: dict[str, Any],
    treatment: str,
    hours_since: float,
    symptoms: tuple[str, ...],
    flags: tuple[str, ...],
    previous: tuple[str, ...],
    as_json: bool,
) -> None:
    """Try the triage rules without Telegram (for clinicians tuning a protocol)."""
    found = _protocols(obj)
    if treatment not in found:
        raise BadInput(f"unknown treatment {treatment!r} (known: {', '.join(sorted(found))})")
    rules = found[treatment].triage
    if rules is None:
        raise BadInput(f"the {treatment} protocol has no [triage] rules")
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        raise BadInput(f"unknown flag {unknown[0]!r} (known: {', '.join(FLAGS)})")
    if hours_since < 0:
        raise BadInput("--hours-since cannot be negative")
    report = TriageReport(symptoms=_pairs(symptoms, "--symptom"), flags=frozenset(flags))
    before = TriageReport(symptoms=_pairs(previous, "--previous")) if previous else None
    assessment = assess(report, before, hours_since, rules)
    data = {
        "level": assessment.level.name.lower(),
        "reasons": [reason.text() for reason in assessment.reasons],
    }
    if as_json:
        _emit(True, data, ())
        return
    click.echo(f"level: {data['level']}")
    for reason in data["reasons"]:
        click.echo(f"  - {reason}")


@cli.command("escalations")
@JSON_FLAG
@click.pass_obj
def escalations_command(obj: dict[str, Any], as_json: bool) -> None:
    """Open and acknowledged escalations, oldest first."""

    async def work(ctx: Context) -> list[dict[str, Any]]:
        return [
            {
                "id": item.escalation.id,
                "patient": item.patient.id,
                "name": item.patient.name,
                "level": item.escalation.level,
                "status": str(item.escalation.status),
                "opened_at": _iso(item.escalation.opened_at),
                "reminders": item.escalation.rounds,
                "reasons": [
                    reason_text(ctx.i18n, ctx.clinic.default_language, r)
                    for r in item.report.reasons
                ],
            }
            for item in await escalations.list_open(ctx)
        ]

    rows = _with_context(obj, work)
    _emit(as_json, rows, ("id", "patient", "name", "level", "status", "opened_at", "reminders"))


@cli.command("checkins")
@JSON_FLAG
@click.pass_obj
def checkins_command(obj: dict[str, Any], as_json: bool) -> None:
    """Check-ins nobody answered, even after a reminder (for staff to follow up)."""

    async def work(ctx: Context) -> list[dict[str, Any]]:
        return [
            {
                "id": checkin.id,
                "patient": patient.id,
                "name": patient.name,
                "step": checkin.step_key,
                "asked_at": _iso(checkin.opened_at),
                "closed_at": _iso(checkin.closed_at),
            }
            for checkin, patient in await checkins.unanswered(ctx)
        ]

    rows = _with_context(obj, work)
    _emit(as_json, rows, ("id", "patient", "name", "step", "asked_at", "closed_at"))


@cli.command("status")
@JSON_FLAG
@click.pass_obj
def status_command(obj: dict[str, Any], as_json: bool) -> None:
    """Health: backlog, oldest due message, uncertain and failed counts, last dispatcher run.
    Exits 3 when unhealthy, for monitoring."""
    found = _with_context(obj, health.check)
    data = {
        "healthy": found.healthy,
        "backlog": found.backlog,
        "oldest_due_at": _iso(found.oldest_due_at),
        "uncertain": found.uncertain,
        "failed": found.failed,
        "last_dispatch_at": _iso(found.last_dispatch_at),
        "overdue_escalations": found.overdue_escalations,
        "running_processes": found.processes,
        "problems": found.problems,
    }
    if as_json:
        _emit(True, data, ())
    else:
        for key, value in data.items():
            shown = "; ".join(value) if isinstance(value, list) else value
            click.echo(f"{key:20} {'-' if shown in (None, '') else shown}")
    if not found.healthy:
        raise click.exceptions.Exit(3)


# --- running ------------------------------------------------------------------------------------
@cli.command("run")
@click.option(
    "--webhook",
    "use_webhook",
    is_flag=True,
    help="Take updates from Telegram's posts (AFTERCARE_WEBHOOK_*) instead of polling; "
    "several processes may run it side by side.",
)
@click.pass_obj
def run(obj: dict[str, Any], use_webhook: bool) -> None:
    """Run the bot: long polling (or a webhook), handlers and the dispatcher, until stopped."""
    asyncio.run(app.run(_settings(obj), use_webhook=use_webhook))


@cli.command("demo")
@click.option("--speed", type=float, default=None, help="Simulated seconds per real second.")
@click.option("--treatment", default="face", show_default=True)
@click.option("--language", default="en", show_default=True)
def demo(speed: float | None, treatment: str, language: str) -> None:
    """The whole journey against the loopback Telegram stand-in, on a fast clock."""
    from bot import demo as demo_module

    asyncio.run(demo_module.run_demo(speed=speed, treatment=treatment, language=language))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: every error is one line on stderr and a non-zero exit code."""
    # python-telegram-bot 22 warns on every 429 unless it may give retry_after as a timedelta
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False, obj={})
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 1
    except ConfigError as err:
        click.echo(f"error: {err}", err=True)
        return 2
    except (AftercareError, ProtocolError) as err:
        click.echo(f"error: {err}", err=True)
        return 1
    except SQLAlchemyError as err:
        first = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        click.echo(f"error: database: {first}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
