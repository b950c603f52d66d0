"""`aftercare triage`: a protocol's triage rules tried on a made-up report, without Telegram."""

from __future__ import annotations

from collections.abc import Sequence

import click

from bot.cli.output import JSON_FLAG, echo_json
from bot.cli.runner import Invocation, pass_invocation, protocol_named
from bot.domain.triage import FLAGS, LEGACY_FLAGS, SYMPTOMS, Severity, assess
from bot.domain.triage import Report as TriageReport
from bot.errors import BadInput


def parse_pairs(values: Sequence[str], what: str) -> dict[str, Severity]:
    """`NAME=SEVERITY` options, each symptom and severity checked against the known ones."""
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


@click.command("triage")
@click.option("--treatment", required=True, help="Protocol whose rules to use: face, body …")
@click.option("--hours-since", type=float, required=True, help="Hours since the session started.")
@click.option(
    "--symptom",
    "symptoms",
    multiple=True,
    help=f"NAME=SEVERITY, e.g. swelling=severe; names: {', '.join(SYMPTOMS)}",
)
@click.option("--flag", "flags", multiple=True, help=f"A red flag: {', '.join(FLAGS)}")
@click.option(
    "--previous",
    multiple=True,
    help="NAME=SEVERITY at the previous report of the session or course (for rises)",
)
@JSON_FLAG
@pass_invocation
def triage_command(
    obj: Invocation,
    treatment: str,
    hours_since: float,
    symptoms: tuple[str, ...],
    flags: tuple[str, ...],
    previous: tuple[str, ...],
    as_json: bool,
) -> None:
    """Try the triage rules without Telegram (for clinicians tuning a protocol)."""
    rules = protocol_named(obj, treatment).triage
    if rules is None:
        raise BadInput(f"the {treatment} protocol has no [triage] rules")
    unknown = [f for f in flags if f not in FLAGS]
    if unknown:
        name = unknown[0]
        if name in LEGACY_FLAGS:
            # only reports stored before the split still hold it
            split = " and ".join(LEGACY_FLAGS[name])
            raise BadInput(f"the {name!r} flag was split into {split}; give one of those")
        raise BadInput(f"unknown flag {name!r} (known: {', '.join(FLAGS)})")
    if hours_since < 0:
        raise BadInput("--hours-since cannot be negative")
    report = TriageReport(symptoms=parse_pairs(symptoms, "--symptom"), flags=frozenset(flags))
    before = TriageReport(symptoms=parse_pairs(previous, "--previous")) if previous else None
    assessment = assess(report, before, hours_since, rules)
    level = assessment.level.name.lower()
    reasons = [reason.text() for reason in assessment.reasons]
    if as_json:
        echo_json({"level": level, "reasons": reasons})
        return
    click.echo(f"level: {level}")
    for reason in reasons:
        click.echo(f"  - {reason}")
