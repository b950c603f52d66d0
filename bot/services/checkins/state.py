"""A check-in row as the domain sees it: its answers for the state machine, and as a report
for triage."""

from __future__ import annotations

from types import MappingProxyType

from bot.db.models import Checkin, Report
from bot.domain import triage
from bot.domain.checkin import Answers
from bot.domain.triage import Severity


def answers_of(checkin: Checkin) -> Answers:
    return Answers(
        stage=checkin.stage,
        symptoms=tuple(checkin.symptoms),
        severities=MappingProxyType({str(k): int(v) for k, v in checkin.severities.items()}),
        flags=tuple(checkin.flags),
    )


def store(checkin: Checkin, answers: Answers) -> None:
    """Writes the answers back. JSON columns are replaced, not mutated, so the change is seen
    and saved."""
    if checkin.stage != answers.stage:
        checkin.stage = answers.stage
    if checkin.symptoms != list(answers.symptoms):
        checkin.symptoms = list(answers.symptoms)
    if checkin.severities != dict(answers.severities):
        checkin.severities = dict(answers.severities)
    if checkin.flags != list(answers.flags):
        checkin.flags = list(answers.flags)


def report_of(checkin: Checkin) -> triage.Report:
    """The answers as triage reads them."""
    return triage.Report(
        symptoms={name: Severity(checkin.severities.get(name, 0)) for name in checkin.symptoms},
        flags=frozenset(checkin.flags),
    )


def stored_report(report: Report) -> triage.Report:
    return triage.Report(
        symptoms={k: Severity(v) for k, v in report.symptoms.items()},
        flags=frozenset(report.flags),
    )
