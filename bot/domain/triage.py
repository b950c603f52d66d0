"""Triage: one check-in report judged against a protocol's rules, as a level with its reasons.

The rules (docs/clinical.md#triage-rules) and their numbers come from the protocol file; this
module only knows how to apply them:

- a red flag counts at the level the protocol gives it (emergency, urgent, ...);
- a symptom at the protocol's `severe` or above is unusual, and urgent for the symptoms listed in
  `urgent_when_severe` (severe pain);
- a symptom worse than at the previous check-in by `worsening_levels` or more is unusual
  (a symptom absent from a report counts as none);
- a symptom still present strictly after its usual course is unusual (at exactly the course
  boundary it is still expected);
- new darkening of the skin at any severity, and `other` at moderate or above, are unusual.

The assessment's level is the highest of its reasons; with no reasons it is expected. Every
message is an English template marked with N_ so the translation extractor collects it; the
services translate it and fill in the params.
"""

import datetime as dt
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Self, TypeVar


def N_(message: str) -> str:
    """Marks a message for pybabel (-k N_); it is translated where it is shown."""
    return message


_E = TypeVar("_E", bound=enum.Enum)


class Severity(enum.IntEnum):
    """The five-level scale of patient-reported outcome tools (docs/clinical.md#severity-scale)."""

    NONE = 0
    MILD = 1
    MODERATE = 2
    SEVERE = 3
    VERY_SEVERE = 4

    @property
    def name_key(self) -> str:
        """The name in protocol files and reason params: `none` … `very_severe`."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Self:
        """`very_severe` → Severity.VERY_SEVERE; ValueError for anything else."""
        return _parse_member(cls, text, "severity")


class Level(enum.IntEnum):
    """How soon staff must look; ordered, so the highest reason decides."""

    EXPECTED = 0
    UNUSUAL = 1
    URGENT = 2
    EMERGENCY = 3

    @property
    def name_key(self) -> str:
        """The name in files and stored reports: `expected` … `emergency`."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Self:
        """`urgent` → Level.URGENT; ValueError for anything else."""
        return _parse_member(cls, text, "level")


def _parse_member(cls: type[_E], text: str, what: str) -> _E:
    for member in cls:
        if member.name.lower() == text:
            return member
    known = ", ".join(member.name.lower() for member in cls)
    raise ValueError(f"{text!r} is not a {what}; known: {known}")


# The order is the order patients see them in, and the order reasons are listed in.
SYMPTOMS: Final[tuple[str, ...]] = (
    "redness",
    "swelling",
    "bruising",
    "itching",
    "burning",
    "pain",
    "bumps",
    "darkening",
    "other",
)
FLAGS: Final[tuple[str, ...]] = (
    "breathing",
    "allergy",
    "vision",
    "fever",
    "pus",
    "spreading",
    "skin_colour",
)

# Staff-facing: what the patient reported, one message per red flag.
_FLAG_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "breathing": N_(
            "trouble breathing or swallowing, or swelling of the lips, tongue or throat"
        ),
        "allergy": N_("hives (an itchy rash) over the body, or feeling faint"),
        "vision": N_("a change in vision after the treatment"),
        "fever": N_("fever or chills"),
        "pus": N_("pus or discharge from the treated area"),
        "spreading": N_("redness, warmth or pain that keeps increasing, or red streaks spreading"),
        "skin_colour": N_(
            "skin that looks pale, grey, dusky or dark, or blisters, open sores or ulceration"
        ),
    }
)
_SEVERE: Final = N_("{symptom} is {severity}")
_WORSE: Final = N_("{symptom} is worse than at the last check-in ({previous} → {severity})")
_PAST_COURSE: Final = N_(
    "{symptom} is still present {hours} hours after the session "
    "(usually gone within {course_hours} hours)"
)
_DARKENING: Final = N_("{symptom} of the skin at the injection points ({severity})")
_OTHER: Final = N_("{symptom} symptom is {severity}")

# Darkening at the injection points is never part of the usual course: new pigmentation is
# unusual (docs/clinical.md#triage-rules); a symptom the patient could not name is only worth a
# look once it is more than mild (a product choice, same section).
_DARKENING_FROM: Final = Severity.MILD
_OTHER_FROM: Final = Severity.MODERATE
_HOUR: Final = dt.timedelta(hours=1)


@dataclass(frozen=True)
class TriageRules:
    """A protocol's `[triage]` table: the numbers a clinic may change, already validated."""

    usual_course: Mapping[str, dt.timedelta]
    flag_levels: Mapping[str, Level]
    worsening_levels: int = 2
    severe: Severity = Severity.SEVERE
    urgent_when_severe: frozenset[str] = frozenset({"pain"})

    def __post_init__(self) -> None:
        # copies, so a caller's dict changed later cannot change the rules
        object.__setattr__(self, "usual_course", MappingProxyType(dict(self.usual_course)))
        object.__setattr__(self, "flag_levels", MappingProxyType(dict(self.flag_levels)))
        object.__setattr__(self, "urgent_when_severe", frozenset(self.urgent_when_severe))
        _require_known(self.usual_course, SYMPTOMS, "usual_course", "symptom")
        _require_known(self.urgent_when_severe, SYMPTOMS, "urgent_when_severe", "symptom")
        _require_known(self.flag_levels, FLAGS, "flag_levels", "flag")
        for name, course in self.usual_course.items():
            if course <= dt.timedelta(0) or course % _HOUR:
                raise ValueError(f"usual_course {name!r} must be a positive number of hours")
        # a red flag without a level would be dropped without a word
        missing = [flag for flag in FLAGS if flag not in self.flag_levels]
        if missing:
            raise ValueError(f"flag_levels has no level for: {', '.join(missing)}")
        if any(level < Level.UNUSUAL for level in self.flag_levels.values()):
            raise ValueError("a red flag must be at least unusual, so that staff see it")
        if not 1 <= self.worsening_levels <= Severity.VERY_SEVERE:
            raise ValueError(f"worsening_levels must be 1 to 4, got {self.worsening_levels}")
        if self.severe < Severity.MILD:
            raise ValueError("severe must be mild or above; at none every report is unusual")


@dataclass(frozen=True)
class Report:
    """What a patient answered: a severity per symptom (absent means none) and red flags."""

    symptoms: Mapping[str, Severity]
    flags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "symptoms", MappingProxyType(dict(self.symptoms)))
        object.__setattr__(self, "flags", frozenset(self.flags))
        _require_known(self.symptoms, SYMPTOMS, "symptoms", "symptom")
        _require_known(self.flags, FLAGS, "flags", "flag")
        for name, severity in self.symptoms.items():
            if not isinstance(severity, Severity):
                raise ValueError(f"symptom {name!r} needs a Severity, got {severity!r}")

    def severity(self, symptom: str) -> Severity:
        return self.symptoms.get(symptom, Severity.NONE)


@dataclass(frozen=True)
class Reason:
    """One rule that fired: `message` is an English template, `params` fill it in."""

    code: str
    level: Level
    message: str
    symptom: str | None = None
    flag: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def text(self) -> str:
        """The message in English, names as plain words (`very_severe` → `very severe`)."""
        values = {key: value.replace("_", " ") for key, value in self.params.items()}
        if self.symptom is not None:
            values["symptom"] = self.symptom.replace("_", " ")
        return self.message.format_map(values)


@dataclass(frozen=True)
class Assessment:
    """The level of one report and every reason for it, highest level first."""

    level: Level
    reasons: tuple[Reason, ...]


def assess(
    report: Report, previous: Report | None, hours_since: float, rules: TriageRules
) -> Assessment:
    """Judges `report`, made `hours_since` hours after the session, against `rules`.

    `previous` is the report of the last check-in, if any. hours_since must be zero or more.
    """
    if not math.isfinite(hours_since) or hours_since < 0:
        raise ValueError(f"hours_since must be zero or more, got {hours_since}")
    reasons = [
        Reason("flag", rules.flag_levels[flag], _FLAG_MESSAGES[flag], flag=flag)
        for flag in FLAGS
        if flag in report.flags
    ]
    for symptom in SYMPTOMS:
        reasons += _symptom_reasons(symptom, report, previous, hours_since, rules)
    # the sort is stable: within a level, flags come first, then symptoms in SYMPTOMS order
    reasons.sort(key=lambda reason: reason.level, reverse=True)
    level = reasons[0].level if reasons else Level.EXPECTED
    return Assessment(level, tuple(reasons))


def _symptom_reasons(
    symptom: str,
    report: Report,
    previous: Report | None,
    hours_since: float,
    rules: TriageRules,
) -> list[Reason]:
    severity = report.severity(symptom)
    if severity == Severity.NONE:
        return []
    shown = {"severity": severity.name_key}
    reasons: list[Reason] = []
    if severity >= rules.severe:
        if symptom in rules.urgent_when_severe:
            reasons.append(Reason("urgent_severe", Level.URGENT, _SEVERE, symptom, None, shown))
        else:
            reasons.append(Reason("severe", Level.UNUSUAL, _SEVERE, symptom, None, shown))
    if previous is not None:
        before = previous.severity(symptom)
        if severity - before >= rules.worsening_levels:
            params = {"previous": before.name_key, **shown}
            reasons.append(Reason("worse", Level.UNUSUAL, _WORSE, symptom, None, params))
    course = rules.usual_course.get(symptom)
    if course is not None and hours_since > course / _HOUR:
        params = {"hours": str(math.floor(hours_since)), "course_hours": str(course // _HOUR)}
        reasons.append(Reason("past_course", Level.UNUSUAL, _PAST_COURSE, symptom, None, params))
    if symptom == "darkening" and severity >= _DARKENING_FROM:
        reasons.append(Reason("darkening", Level.UNUSUAL, _DARKENING, symptom, None, shown))
    if symptom == "other" and severity >= _OTHER_FROM:
        reasons.append(Reason("other", Level.UNUSUAL, _OTHER, symptom, None, shown))
    return reasons


def _require_known(
    names: Mapping[str, object] | frozenset[str], known: tuple[str, ...], where: str, what: str
) -> None:
    unknown = sorted(name for name in names if name not in known)
    if unknown:
        raise ValueError(f"{where}: unknown {what} {unknown[0]!r}; known: {', '.join(known)}")
