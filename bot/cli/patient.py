"""`aftercare patient …` and `aftercare invite`: patients, and the link that enrols one."""

from __future__ import annotations

import click

from bot.cli.messages import MESSAGE_COLUMNS, message_row
from bot.cli.output import JSON_FLAG, Columns, Row, echo_json, echo_table, emit_row, emit_rows, iso
from bot.cli.runner import Invocation, pass_invocation, with_context
from bot.db.models import Patient
from bot.errors import BadInput
from bot.services import patients

PATIENT_COLUMNS: Columns = ("id", "name", "language", "timezone", "status", "telegram_linked")
SESSION_COLUMNS: Columns = ("id", "treatment", "area", "starts_at", "status")
INVITE_COLUMNS: Columns = ("patient", "link", "expires_at")


def patient_row(p: Patient) -> Row:
    return {
        "id": p.id,
        "name": p.name,
        "language": p.language,
        "timezone": p.timezone,
        "status": str(p.status),
        "telegram_linked": p.telegram_user_id is not None,
        "consent_at": iso(p.consent_at),
    }


@click.group("patient")
def patient_group() -> None:
    """Patients."""


@patient_group.command("add")
@click.argument("name")
@click.option("--language", help="Language code (default: the clinic's).")
@click.option("--timezone", help="IANA zone such as Europe/Paris (default: the clinic's).")
@JSON_FLAG
@pass_invocation
def patient_add(
    obj: Invocation, name: str, language: str | None, timezone: str | None, as_json: bool
) -> None:
    """Add a patient."""
    added = with_context(obj, lambda ctx: patients.add_patient(ctx, name, language, timezone))
    emit_row(as_json, patient_row(added), PATIENT_COLUMNS)


@patient_group.command("list")
@JSON_FLAG
@pass_invocation
def patient_list(obj: Invocation, as_json: bool) -> None:
    """List patients."""
    found = with_context(obj, patients.list_patients)
    emit_rows(as_json, [patient_row(p) for p in found], PATIENT_COLUMNS)


@patient_group.command("show")
@click.argument("patient_id")
@JSON_FLAG
@pass_invocation
def patient_show(obj: Invocation, patient_id: str, as_json: bool) -> None:
    """Show a patient with their sessions and messages."""
    view = with_context(obj, lambda ctx: patients.show_patient(ctx, patient_id))
    row = patient_row(view.patient)
    sessions: list[Row] = [
        {
            "id": s.id,
            "treatment": s.treatment,
            "area": s.area,
            "starts_at": iso(s.starts_at),
            "status": str(s.status),
        }
        for s in view.sessions
    ]
    messages = [message_row(m, view.patient.timezone) for m in view.messages]
    if as_json:
        echo_json({**row, "sessions": sessions, "messages": messages})
        return
    echo_table([row], PATIENT_COLUMNS)
    click.echo("\nSessions:")
    echo_table(sessions, SESSION_COLUMNS)
    click.echo("\nMessages:")
    echo_table(messages, MESSAGE_COLUMNS)


@patient_group.command("set")
@click.argument("patient_id")
@click.option("--language", help="Language code, e.g. fr.")
@click.option("--timezone", help="IANA zone; what is not yet sent is planned again in it.")
@JSON_FLAG
@pass_invocation
def patient_set(
    obj: Invocation, patient_id: str, language: str | None, timezone: str | None, as_json: bool
) -> None:
    """Change a patient's language or time zone."""
    if language is None and timezone is None:
        raise BadInput("nothing to change: give --language or --timezone")
    changed = with_context(
        obj, lambda ctx: patients.update_patient(ctx, patient_id, language, timezone)
    )
    emit_row(as_json, patient_row(changed), PATIENT_COLUMNS)


@patient_group.command("unlink")
@click.argument("patient_id")
@JSON_FLAG
@pass_invocation
def patient_unlink(obj: Invocation, patient_id: str, as_json: bool) -> None:
    """Unbind a patient's Telegram account: nothing more is sent to it, open check-ins close;
    a new invite links the patient again."""
    unlinked = with_context(obj, lambda ctx: patients.unlink_patient(ctx, patient_id))
    emit_row(as_json, patient_row(unlinked), PATIENT_COLUMNS)


@click.command("invite")
@click.argument("patient_id")
@JSON_FLAG
@pass_invocation
def invite(obj: Invocation, patient_id: str, as_json: bool) -> None:
    """Print a one-time invite link for a patient; earlier unused links stop working."""
    link = with_context(obj, lambda ctx: patients.create_invite(ctx, patient_id))
    row: Row = {"patient": link.patient_id, "link": link.link, "expires_at": iso(link.expires_at)}
    emit_row(as_json, row, INVITE_COLUMNS)
