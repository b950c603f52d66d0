"""Triage: one check-in report judged against a protocol's rules, as a level with its reasons.

The rules (docs/clinical.md#triage-rules) and their numbers come from the protocol file; this
module only knows how to apply them. Times count from the session start, in hours; "within X"
includes X, "after X" does not:

- a red flag counts at the level the protocol gives it (emergency, urgent, ...);
- a symptom at the protocol's `severe` or above is unusual, and urgent for the symptoms listed in
  `urgent_when_severe` (severe pain);
- a symptom in `urgent_when_rising` that is higher than at the previous report, after
  `urgent_when_rising_after`, is urgent (redness, warmth or pain still increasing after day 2);
- otherwise a symptom worse than at the previous report by `worsening_levels` or more, after
  `worsening_after` (the normal peak of the first 48 hours), is unusual (a symptom absent from a
  report counts as none);
- a symptom still present strictly after its usual course is unusual (at exactly the course
  boundary it is still expected);
- the symptom rules (`[[triage.rule]]`): symptoms reported together, each at least at its
  severity, within a time range, give a reason at the rule's level; for each symptom only the
  first matching rule counts, so a table lists the specific before the general (darkening with
  pain in the first day before darkening alone);
- from `nothing_expected_from` (four weeks) any symptom without another reason is unusual.

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


def _require_known(
    names: Mapping[str, object] | frozenset[str], known: tuple[str, ...], where: str, what: str
) -> None:
    unknown = sorted(name for name in names if name not in known)
    if unknown:
        raise ValueError(f"{where}: unknown {what} {unknown[0]!r}; known: {', '.join(known)}")


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
    # late complications (docs/clinical.md#late-complications)
    "lump",
    "sore",
    "other",
)
# Emergency signs first, then urgent ones (docs/clinical.md#red-flag-levels).
FLAGS: Final[tuple[str, ...]] = (
    "breathing",
    "faint",
    "vision",
    "hives",
    "fever",
    "pus",
    "spreading",
    "skin_colour",
)
# Flags that reports stored before a split may still hold, and the flags each became: one is
# judged at the highest level of its parts (docs/clinical.md#red-flag-levels).
LEGACY_FLAGS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"allergy": ("faint", "hives")}
)

# Staff-facing: what the patient reported, one message per red flag.
_FLAG_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "breathing": N_(
            "trouble breathing or swallowing, or swelling of the lips, tongue or throat"
        ),
        "faint": N_("feeling faint, or fainting"),
        "vision": N_("a change in vision after the treatment"),
        "hives": N_("hives or an itchy rash spreading beyond the treated area"),
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
_LEGACY_FLAG_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {"allergy": N_("hives (an itchy rash) over the body, or feeling faint")}
)
_RISING: Final = N_(
    "{symptom} is still increasing {hours} hours after the session ({previous} → {severity})"
)
_LATE: Final = N_(
    "{symptom} ({severity}) on day {days} after the session: "
    "nothing is expected this long after a session"
)
# What the symptom rules of a protocol may say, by the name a `[[triage.rule]]` gives as its
# `reason`: the conditions are data, the words are here so that they are translated.
RULE_MESSAGES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "darkening": N_("{symptom} of the skin at the injection points ({severity})"),
        "other": N_("{symptom} symptom is {severity}"),
        "angioedema": N_(
            "{symptom} is {severity} with itching within hours of the session: "
            "it can be the start of angioedema (a deep allergic swelling)"
        ),
        "blood_flow": N_(
            "{symptom} with pain within a day of the session: blocked blood flow must be ruled out"
        ),
        "not_usual": N_("{symptom} ({severity}): not part of the usual course"),
        "with_pain": N_("{symptom} ({severity}) with pain"),
        "mycobacteria": N_(
            "{symptom} ({severity}) on day {days} after the session: "
            "an atypical (non-tuberculous) mycobacterial infection must be ruled out"
        ),
        "mycobacteria_with_pain": N_(
            "{symptom} ({severity}) with pain on day {days} after the session: "
            "an atypical (non-tuberculous) mycobacterial infection must be ruled out"
        ),
    }
)
_HOUR: Final = dt.timedelta(hours=1)
_DAY: Final = dt.timedelta(days=1)


@dataclass(frozen=True)
class SymptomRule:
    """One row of a protocol's `[[triage.rule]]` table: every symptom in `symptoms` reported at
    least at its severity, `after` < hours <= `within` since the session → a reason at `level`,
    worded by RULE_MESSAGES[reason] and naming the first symptom."""

    reason: str
    level: Level
    symptoms: Mapping[str, Severity]
    # strictly after this much time since the session start; None: from the start
    after: dt.timedelta | None = None
    # up to and including this much time; None: for ever
    within: dt.timedelta | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symptoms", MappingProxyType(dict(self.symptoms)))
        if self.reason not in RULE_MESSAGES:
            known = ", ".join(RULE_MESSAGES)
            raise ValueError(f"{self.reason!r} is not a rule reason; known: {known}")
        if not self.symptoms:
            raise ValueError("a symptom rule needs at least one symptom")
        _require_known(self.symptoms, SYMPTOMS, "symptoms", "symptom")
        if any(severity < Severity.MILD for severity in self.symptoms.values()):
            raise ValueError("a symptom rule's severities must be mild or above")
        if self.level < Level.UNUSUAL:
            raise ValueError("a symptom rule must be at least unusual, so that staff see it")
        if self.after is not None and self.after < dt.timedelta(0):
            raise ValueError("a symptom rule's `after` must be zero or more")
        if self.within is not None and self.within <= (self.after or dt.timedelta(0)):
            raise ValueError("a symptom rule's `within` must be longer than its `after`")

    @property
    def symptom(self) -> str:
        """The symptom the reason names, and the one it is listed under."""
        return next(iter(self.symptoms))

    def matches(self, report: "Report", hours: float) -> bool:
        if self.after is not None and hours <= self.after / _HOUR:
            return False
        if self.within is not None and hours > self.within / _HOUR:
            return False
        return all(report.severity(name) >= least for name, least in self.symptoms.items())


def _rule(
    reason: str,
    level: Level,
    after: dt.timedelta | None = None,
    within: dt.timedelta | None = None,
    **symptoms: Severity,
) -> SymptomRule:
    return SymptomRule(reason, level, symptoms, after, within)


_WEEK = dt.timedelta(days=7)
_M, _VS = Severity.MILD, Severity.VERY_SEVERE
# The shipped files spell these out (docs/clinical.md#symptom-rules); a file without a
# `[[triage.rule]]` table gets them, so that no clinic file loses them silently.
DEFAULT_SYMPTOM_RULES: Final[tuple[SymptomRule, ...]] = (
    _rule("angioedema", Level.URGENT, within=dt.timedelta(hours=6), swelling=_VS, itching=_M),
    _rule("blood_flow", Level.URGENT, within=_DAY, darkening=_M, pain=_M),
    _rule("darkening", Level.UNUSUAL, darkening=_M),
    _rule("with_pain", Level.URGENT, within=_WEEK, lump=_M, pain=_M),
    _rule("mycobacteria_with_pain", Level.URGENT, after=_WEEK, lump=_M, pain=_M),
    _rule("not_usual", Level.UNUSUAL, within=_WEEK, lump=_M),
    _rule("mycobacteria", Level.UNUSUAL, after=_WEEK, lump=_M),
    _rule("not_usual", Level.URGENT, within=_WEEK, sore=_M),
    _rule("mycobacteria", Level.URGENT, after=_WEEK, sore=_M),
    _rule("other", Level.UNUSUAL, other=Severity.MODERATE),
)


@dataclass(frozen=True)
class TriageRules:
    """A protocol's `[triage]` table: the numbers a clinic may change, already validated."""

    usual_course: Mapping[str, dt.timedelta]
    flag_levels: Mapping[str, Level]
    worsening_levels: int = 2
    severe: Severity = Severity.SEVERE
    urgent_when_severe: frozenset[str] = frozenset({"pain"})
    # a rise inside the normal peak of the first 48 hours is not worsening
    worsening_after: dt.timedelta = dt.timedelta(hours=48)
    # any rise of these after that time is urgent (infection: docs/clinical.md#triage-rules)
    urgent_when_rising: frozenset[str] = frozenset({"redness", "burning", "pain"})
    urgent_when_rising_after: dt.timedelta = dt.timedelta(hours=48)
    # nothing is expected four weeks after a session
    nothing_expected_from: dt.timedelta = dt.timedelta(days=28)
    symptom_rules: tuple[SymptomRule, ...] = DEFAULT_SYMPTOM_RULES

    def __post_init__(self) -> None:
        # copies, so a caller's dict changed later cannot change the rules
        object.__setattr__(self, "usual_course", MappingProxyType(dict(self.usual_course)))
        object.__setattr__(self, "flag_levels", MappingProxyType(dict(self.flag_levels)))
        object.__setattr__(self, "urgent_when_severe", frozenset(self.urgent_when_severe))
        object.__setattr__(self, "urgent_when_rising", frozenset(self.urgent_when_rising))
        object.__setattr__(self, "symptom_rules", tuple(self.symptom_rules))
        _require_known(self.usual_course, SYMPTOMS, "usual_course", "symptom")
        _require_known(self.urgent_when_severe, SYMPTOMS, "urgent_when_severe", "symptom")
        _require_known(self.urgent_when_rising, SYMPTOMS, "urgent_when_rising", "symptom")
        _require_known(self.flag_levels, FLAGS, "flag_levels", "flag")
        for name in ("worsening_after", "urgent_when_rising_after"):
            if getattr(self, name) < dt.timedelta(0):
                raise ValueError(f"{name} must be zero or more")
        if self.nothing_expected_from <= dt.timedelta(0):
            raise ValueError("nothing_expected_from must be longer than zero")
        for name, course in self.usual_course.items():
            if course >= self.nothing_expected_from:
                raise ValueError(
                    f"usual_course {name!r} must end before nothing_expected_from, "
                    "when no symptom is expected any more"
                )
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
        # a report stored before a flag was split still holds the old name
        _require_known(self.flags, FLAGS + tuple(LEGACY_FLAGS), "flags", "flag")
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

    `previous` is the previous report about the same session or course, if any. hours_since must
    be zero or more.
    """
    if not math.isfinite(hours_since) or hours_since < 0:
        raise ValueError(f"hours_since must be zero or more, got {hours_since}")
    reasons = [
        Reason("flag", rules.flag_levels[flag], _FLAG_MESSAGES[flag], flag=flag)
        for flag in FLAGS
        if flag in report.flags
    ]
    for flag, parts in LEGACY_FLAGS.items():
        if flag in report.flags:
            level = max(rules.flag_levels[part] for part in parts)
            reasons.append(Reason("flag", level, _LEGACY_FLAG_MESSAGES[flag], flag=flag))
    for symptom in SYMPTOMS:
        reasons += _symptom_reasons(symptom, report, previous, hours_since, rules)
    # the sort is stable: within a level, flags come first, then symptoms in SYMPTOMS order
    reasons.sort(key=lambda reason: reason.level, reverse=True)
    level = reasons[0].level if reasons else Level.EXPECTED
    return Assessment(level, tuple(reasons))


def within_usual_course(rules: TriageRules, symptom: str, hours: float) -> bool:
    """Whether `symptom` is still within its usual course `hours` after the session, so that
    advice may call it expected; never for a symptom without a course (darkening, lump, ...),
    nor from `nothing_expected_from` on."""
    course = rules.usual_course.get(symptom)
    if course is None:
        return False
    return hours <= course / _HOUR and hours < rules.nothing_expected_from / _HOUR


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
        reasons += _change_reasons(
            symptom, severity, previous.severity(symptom), hours_since, rules
        )
    course = rules.usual_course.get(symptom)
    if course is not None and hours_since > course / _HOUR:
        params = {"hours": str(math.floor(hours_since)), "course_hours": str(course // _HOUR)}
        reasons.append(Reason("past_course", Level.UNUSUAL, _PAST_COURSE, symptom, None, params))
    days = {**shown, "days": str(math.floor(hours_since / 24))}
    # the first matching rule named after this symptom; the table lists specific rules first
    rule = next(
        (
            rule
            for rule in rules.symptom_rules
            if rule.symptom == symptom and rule.matches(report, hours_since)
        ),
        None,
    )
    if rule is not None:
        message = RULE_MESSAGES[rule.reason]
        reasons.append(Reason(rule.reason, rule.level, message, symptom, None, days))
    if not reasons and hours_since >= rules.nothing_expected_from / _HOUR:
        reasons.append(Reason("late", Level.UNUSUAL, _LATE, symptom, None, days))
    return reasons


def _change_reasons(
    symptom: str, severity: Severity, before: Severity, hours_since: float, rules: TriageRules
) -> list[Reason]:
    """Still increasing after the peak is urgent for some symptoms; a bigger rise is unusual
    for all. Inside the peak neither counts."""
    params = {"previous": before.name_key, "severity": severity.name_key}
    rising_after = rules.urgent_when_rising_after / _HOUR
    if symptom in rules.urgent_when_rising and hours_since > rising_after and severity > before:
        params["hours"] = str(math.floor(hours_since))
        return [Reason("rising", Level.URGENT, _RISING, symptom, None, params)]
    if hours_since > rules.worsening_after / _HOUR and severity - before >= rules.worsening_levels:
        return [Reason("worse", Level.UNUSUAL, _WORSE, symptom, None, params)]
    return []
