"""The check-in's questions as a state machine: the answers so far and one press move it on.

Pure: it knows the order of the questions and what each answer changes, nothing of the
database, Telegram or wording. The service loads the check-in's row into `Answers`, applies
`advance` and writes the result back.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import ClassVar

from bot.domain.triage import FLAGS, SYMPTOMS, Severity


class CheckinStage(enum.StrEnum):
    """Which question is open (stored on the check-in row as this value). Reporting a problem
    starts with the danger signs, so that one of them alone is enough and is heard first
    (docs/clinical.md#already-followed)."""

    OVERALL = "overall"  # all good / something is wrong
    FLAGS = "flags"  # the danger signs, each reportable alone
    SYMPTOMS = "symptoms"  # which skin symptoms (several, or none)
    SEVERITY = "severity"  # one question per chosen symptom
    NOTE = "note"  # a photo or a few words, or skip
    DONE = "done"


class Refusal(enum.Enum):
    """Why a press changed nothing."""

    ANSWERED = "answered"  # the press is for a question already answered
    STALE = "stale"  # a choice that does not exist (any more)


@dataclass(frozen=True)
class Answers:
    """A check-in's answers so far; symptoms and flags in the order they were chosen."""

    stage: CheckinStage = CheckinStage.OVERALL
    symptoms: tuple[str, ...] = ()
    severities: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    flags: tuple[str, ...] = ()

    def added_flags(self, before: Answers) -> tuple[str, ...]:
        """The danger signs these answers report that `before` did not."""
        return tuple(f for f in self.flags if f not in before.flags)

    @property
    def current_symptom(self) -> str | None:
        """The chosen symptom whose strength is asked next, if any."""
        return next((s for s in self.symptoms if s not in self.severities), None)


# --- the events: one per kind of press --------------------------------------------------------
@dataclass(frozen=True)
class Event:
    stage: ClassVar[CheckinStage]  # the question the press answers


@dataclass(frozen=True)
class AllGood(Event):
    stage = CheckinStage.OVERALL


@dataclass(frozen=True)
class HasSymptoms(Event):
    stage = CheckinStage.OVERALL


@dataclass(frozen=True)
class ToggleSymptom(Event):
    stage = CheckinStage.SYMPTOMS
    name: str  # one of triage.SYMPTOMS


@dataclass(frozen=True)
class SymptomsDone(Event):
    stage = CheckinStage.SYMPTOMS


@dataclass(frozen=True)
class Rate(Event):
    stage = CheckinStage.SEVERITY
    level: int


@dataclass(frozen=True)
class ToggleFlag(Event):
    stage = CheckinStage.FLAGS
    name: str  # one of triage.FLAGS


@dataclass(frozen=True)
class NoFlags(Event):
    stage = CheckinStage.FLAGS


@dataclass(frozen=True)
class FlagsDone(Event):
    stage = CheckinStage.FLAGS


@dataclass(frozen=True)
class SkipNote(Event):
    stage = CheckinStage.NOTE


def _toggled(chosen: tuple[str, ...], name: str) -> tuple[str, ...]:
    return tuple(c for c in chosen if c != name) if name in chosen else (*chosen, name)


def advance(answers: Answers, event: Event) -> Answers | Refusal:
    """The answers after one press, or why the press changes nothing. The order: all good, or
    the danger signs → the skin symptoms (possibly none) → the strength of each → a note."""
    if event.stage != answers.stage:
        return Refusal.ANSWERED
    match event:
        case AllGood():
            return replace(answers, stage=CheckinStage.DONE)
        case HasSymptoms():
            return replace(answers, stage=CheckinStage.FLAGS)
        case ToggleSymptom(name=name):
            if name not in SYMPTOMS:
                return Refusal.STALE
            return replace(answers, symptoms=_toggled(answers.symptoms, name))
        case SymptomsDone():
            # no skin symptom is an answer too: a danger sign may have been the whole report
            stage = CheckinStage.SEVERITY if answers.current_symptom else CheckinStage.NOTE
            return replace(answers, stage=stage)
        case Rate(level=level):
            symptom = answers.current_symptom
            if symptom is None or not Severity.NONE <= level <= Severity.VERY_SEVERE:
                return Refusal.STALE
            rated = replace(
                answers, severities=MappingProxyType({**answers.severities, symptom: level})
            )
            if rated.current_symptom is None:
                return replace(rated, stage=CheckinStage.NOTE)
            return rated
        case ToggleFlag(name=name):
            if name not in FLAGS:
                return Refusal.STALE
            return replace(answers, flags=_toggled(answers.flags, name))
        case NoFlags():
            return replace(answers, flags=(), stage=CheckinStage.SYMPTOMS)
        case FlagsDone():
            return replace(answers, stage=CheckinStage.SYMPTOMS)
        case SkipNote():
            return replace(answers, stage=CheckinStage.DONE)
    return Refusal.STALE
