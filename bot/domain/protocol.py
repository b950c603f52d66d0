"""Aftercare protocols as data: the TOML file format, its validation and its value types.

A protocol file describes the aftercare plan for one treatment kind:

    treatment = "face"                 # key used on the command line
    title = "Mesotherapy: face"        # staff-facing
    restriction_days = 3               # informative; the steps carry the actual timing
    course_interval = "21d"            # optional, default 21d: a session of the same patient
                                       # and treatment starting within this of the previous
                                       # one continues its course
    [[step]]
    key = "avoid-before"               # unique within the file, lowercase words and hyphens
    kind = "tip"                       # a StepKind value
    offset = "-3d"                     # from the session start, on the patient's wall clock
    window = "09:00-20:00"             # optional local time-of-day window for sending
    useful_for = "2d"                  # how long after its planned time it is still worth sending
    text = "..."                       # English patient-facing text, the gettext msgid
    respond_within = "12h"             # check-in steps only (and required for them): time to
                                       # answer before one reminder; as long again, staff see it
    skip_when_next_booked = true       # optional, default false: not sent once a later session
                                       # of the same course is booked ("book your next visit")
    hold_while_alert_open = true       # optional, default false: not sent as is while the
                                       # patient has an open alert ("back to sauna and exercise":
                                       # the dispatcher says "check with the clinic first")
    [closer_watch]                     # optional: one extra check-in after a report judged
    offset = "12h"                     # unusual or worse; offset and window count from the
    window = "18:00-20:30"             # report's time as a step's count from the session
    useful_for = "1d"
    respond_within = "12h"
    text = "..."
    [triage]                           # required when there are check-in steps (triage.py)
    worsening_levels = 2               # optional, default 2
    severe = "severe"                  # optional, default "severe"
    urgent_when_severe = ["pain"]      # optional, default ["pain"]
    [triage.usual_course]              # symptom → how long it may last and still be expected
    redness = "3d"
    [triage.flags]                     # every red flag → "unusual", "urgent" or "emergency"
    fever = "urgent"

Parsing refuses every mistake a clinic can make when editing the file, and says where it is:
the file, the step and the field.
"""

import dataclasses
import datetime as dt
import difflib
import enum
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from bot.domain.triage import (
    FLAGS,
    LEGACY_FLAGS,
    RULE_MESSAGES,
    SYMPTOMS,
    Level,
    Severity,
    SymptomRule,
    TriageRules,
)

# Telegram refuses messages over 4096 characters; translations usually run longer than the
# English, so the English text keeps that much headroom.
MAX_TEXT_LENGTH: Final = 3500

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?")
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DURATION = re.compile(r"(?P<sign>-)?(?:(?P<days>\d+)d)?(?:(?P<hours>\d+)h)?(?:(?P<minutes>\d+)m)?")
_TIME_OF_DAY = re.compile(r"(\d{2}):(\d{2})")
_TIME_RANGE = re.compile(r"(\d{2}:\d{2})-(\d{2}:\d{2})")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")

_T = TypeVar("_T")
_D = TypeVar("_D", dt.timedelta, None)

_DURATION_EXAMPLE: Final = "a duration like -3d, 2h or 1d12h"

# Sessions every one to two weeks, plus a week of margin for a visit moved by a few days
# (docs/clinical.md#mesotherapy-and-its-course-of-sessions); a file may set its own.
DEFAULT_COURSE_INTERVAL: Final = dt.timedelta(days=21)
# The step key of a protocol's `[closer_watch]` check-in, unique among its steps.
CLOSER_WATCH_KEY: Final = "closer-watch"
_WINDOW_EXAMPLE: Final = "a time window like 09:00-20:00"


class StepKind(enum.StrEnum):
    """What a step does; the file names it by value, so new kinds only need a member here."""

    TIP = "tip"
    REMINDER = "reminder"
    CHECKIN = "checkin"


class ProtocolError(ValueError):
    """A protocol file cannot be used; the message names the file, the step and the field."""

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        step: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.source = source
        self.problem = problem
        self.step = step
        self.field = field
        self.line = line
        where = [source]
        if line is not None:
            where.append(f"line {line}")
        if step is not None:
            # a step whose key is unusable is named by its position, which is not a key
            where.append(f"step {step}" if step.startswith("#") else f"step {step!r}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(": ".join([*where, problem]))


def parse_duration(text: str) -> dt.timedelta:
    """`-3d`, `1d12h`, `30m`, `0m` → a timedelta; ValueError for anything else."""
    match = _DURATION.fullmatch(text)
    if match is None or not any(match.group(part) for part in ("days", "hours", "minutes")):
        raise ValueError(f"{text!r} is not {_DURATION_EXAMPLE}")
    try:
        duration = dt.timedelta(
            days=int(match["days"] or 0),
            hours=int(match["hours"] or 0),
            minutes=int(match["minutes"] or 0),
        )
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None
    return -duration if match["sign"] else duration


def format_duration(duration: dt.timedelta) -> str:
    """The canonical text of a duration, the inverse of parse_duration (`36h` → `1d12h`)."""
    minute = dt.timedelta(minutes=1)
    if duration % minute:
        raise ValueError(f"{duration} is not a whole number of minutes")
    days, rest = divmod(abs(duration) // minute, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    sign = "-" if duration < dt.timedelta(0) else ""
    return sign + ("".join(parts) or "0m")


def parse_time_of_day(text: str) -> dt.time:
    """`09:00` → a naive time of day; ValueError for anything else."""
    match = _TIME_OF_DAY.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day like 09:00")
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise ValueError(f"{text!r} is not a time of day between 00:00 and 23:59")
    return dt.time(hour, minute)


def format_time_of_day(t: dt.time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def parse_time_range(text: str) -> tuple[dt.time, dt.time]:
    """`HH:MM-HH:MM` → (start, end), in no particular order; ValueError for anything else."""
    match = _TIME_RANGE.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time range like 09:00-20:00")
    return parse_time_of_day(match[1]), parse_time_of_day(match[2])


@dataclass(frozen=True)
class TimeWindow:
    """A local time-of-day window within one day; both ends may be used for sending."""

    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("a time window holds wall-clock times, without a time zone")
        if self.start >= self.end:
            raise ValueError(f"the window {self} must start before it ends, on the same day")

    def contains(self, t: dt.time) -> bool:
        return self.start <= t <= self.end

    def __str__(self) -> str:
        return f"{format_time_of_day(self.start)}-{format_time_of_day(self.end)}"


def parse_window(text: str) -> TimeWindow:
    """`09:00-20:00` → a TimeWindow; ValueError unless it is well formed and start < end."""
    try:
        start, end = parse_time_range(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not {_WINDOW_EXAMPLE} ({exc})") from None
    if start >= end:
        raise ValueError(f"{text!r} must start before it ends (a window stays within one day)")
    return TimeWindow(start, end)


@dataclass(frozen=True)
class Step:
    """One entry of a protocol: when it is due, what it says, and how long it stays useful."""

    key: str
    kind: StepKind
    offset: dt.timedelta
    window: TimeWindow | None
    useful_for: dt.timedelta
    text: str
    # check-in steps only: the time to answer before a reminder, and again before staff see it
    respond_within: dt.timedelta | None = None
    # a clinic's own wording by language code; shipped protocols use the gettext catalogs
    texts: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # not sent once a later session of the same course is booked (the "book your next visit"
    # reminder: docs/clinical.md#aftercare-plan-steps)
    skip_when_next_booked: bool = False
    # not sent as is while the patient has an open alert (the "back to sauna and exercise" tip:
    # the dispatcher sends "check with the clinic first" instead)
    hold_while_alert_open: bool = False


@dataclass(frozen=True)
class Protocol:
    """The aftercare plan for one treatment kind; `source` says which file it came from."""

    treatment: str
    title: str
    restriction_days: int
    steps: tuple[Step, ...]
    source: str
    # None only for a file without check-in steps
    triage: TriageRules | None = None
    # sessions of one patient and treatment starting within this of the previous one form a
    # course (docs/clinical.md#mesotherapy-and-its-course-of-sessions)
    course_interval: dt.timedelta = DEFAULT_COURSE_INTERVAL
    # one extra check-in after a report judged unusual or worse, planned from the report's
    # time as steps are from the session's (key CLOSER_WATCH_KEY, kind checkin); None: none
    closer_watch: Step | None = None

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)


_STEP_FIELDS: Final = (
    "key",
    "kind",
    "offset",
    "window",
    "useful_for",
    "text",
    "respond_within",
    "texts",
    "skip_when_next_booked",
    "hold_while_alert_open",
)
_CLOSER_WATCH_FIELDS: Final = ("offset", "window", "useful_for", "respond_within", "text", "texts")

_PROTOCOL_FIELDS: Final = (
    "treatment",
    "title",
    "restriction_days",
    "course_interval",
    "step",
    "closer_watch",
    "triage",
)
_TRIAGE_FIELDS: Final = (
    "worsening_levels",
    "worsening_after",
    "severe",
    "urgent_when_severe",
    "urgent_when_rising",
    "urgent_when_rising_after",
    "nothing_expected_from",
    "usual_course",
    "rule",
    "flags",
)
_RULE_FIELDS: Final = ("reason", "level", "symptoms", "after", "within")


def parse_protocol(text: str, source: str) -> Protocol:
    """Parses and validates one protocol file's text; `source` names it in every error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, source) from exc
    table = _Table(data, source, step=None)
    table.refuse_unknown(_PROTOCOL_FIELDS)
    treatment = table.name("treatment")
    title = table.string("title", "a short title")
    if not title.strip():
        raise table.error("title", "must not be empty")
    restriction_days = table.integer("restriction_days")
    if restriction_days < 0:
        raise table.error("restriction_days", f"must be zero or more, got {restriction_days}")
    course_interval = DEFAULT_COURSE_INTERVAL
    if "course_interval" in data:
        course_interval = table.duration("course_interval")
        if course_interval <= dt.timedelta(0):
            shown = format_duration(course_interval)
            raise table.error("course_interval", f"must be longer than zero, got {shown!r}")
    steps = tuple(_parse_steps(table))
    closer_watch = None
    if "closer_watch" in data:
        closer_watch = _parse_closer_watch(table, steps)
    triage = None
    if "triage" in data:
        triage = _parse_triage(table)
    elif closer_watch is not None or any(step.kind is StepKind.CHECKIN for step in steps):
        # the answers to a check-in could not be judged
        raise table.error(
            "triage", "missing; a protocol with check-in steps needs a [triage] table"
        )
    return Protocol(
        treatment,
        title.strip(),
        restriction_days,
        steps,
        source,
        triage,
        course_interval,
        closer_watch,
    )


def _syntax_error(exc: tomllib.TOMLDecodeError, source: str) -> ProtocolError:
    # tomllib only reports the position inside its message (a `lineno` attribute comes in 3.14)
    message = str(exc)
    position = _TOML_POSITION.search(message)
    if position is None:
        return ProtocolError(source, f"not valid TOML: {message}")
    detail = message[: position.start()]
    return ProtocolError(
        source,
        f"not valid TOML: {detail} (column {position[2]})",
        line=int(position[1]),
    )


def _parse_steps(table: "_Table") -> list[Step]:
    raw = table.required("step")
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise table.error("step", f"expected [[step]] tables, got {_describe(raw)}")
    if not raw:
        raise table.error("step", "at least one [[step]] is needed")
    steps: list[Step] = []
    first_seen: dict[str, int] = {}
    for number, item in enumerate(raw, start=1):
        step = _parse_step(item, table.source, number)
        if step.key in first_seen:
            raise ProtocolError(
                table.source,
                f"{step.key!r} is already the key of step #{first_seen[step.key]}; "
                "keys must be unique",
                step=step.key,
                field="key",
            )
        first_seen[step.key] = number
        steps.append(step)
    return steps


def _parse_step(values: Mapping[str, object], source: str, number: int) -> Step:
    key_value = values.get("key")
    label = f"#{number}"
    if isinstance(key_value, str) and _NAME.fullmatch(key_value):
        label = key_value
    table = _Table(values, source, step=label)
    table.refuse_unknown(_STEP_FIELDS)
    key = table.name("key")
    kind_text = table.string("kind", "a step kind")
    try:
        kind = StepKind(kind_text)
    except ValueError:
        known = ", ".join(kind.value for kind in StepKind)
        raise table.error("kind", f"{kind_text!r} is not one of: {known}") from None
    step = _parse_step_body(table, key, kind)
    skip_when_next_booked = table.boolean("skip_when_next_booked", default=False)
    hold_while_alert_open = table.boolean("hold_while_alert_open", default=False)
    return dataclasses.replace(
        step,
        skip_when_next_booked=skip_when_next_booked,
        hold_while_alert_open=hold_while_alert_open,
    )


def _parse_closer_watch(protocol: "_Table", steps: tuple[Step, ...]) -> Step:
    """`[closer_watch]`: a check-in step without key or kind, planned from a report's time."""
    table = protocol.table("closer_watch")
    table.refuse_unknown(_CLOSER_WATCH_FIELDS)
    if any(step.key == CLOSER_WATCH_KEY for step in steps):
        raise protocol.error(
            "closer_watch",
            f"{CLOSER_WATCH_KEY!r} is the key of the closer-watch check-in; "
            "give the step of that key another key",
        )
    step = _parse_step_body(table, CLOSER_WATCH_KEY, StepKind.CHECKIN)
    # "the next evening": a report judged at once would otherwise be asked about again at once
    if step.offset <= dt.timedelta(0):
        shown = format_duration(step.offset)
        raise table.error("offset", f"must be longer than zero (after the report), got {shown!r}")
    return step


def _parse_step_body(table: "_Table", key: str, kind: StepKind) -> Step:
    """The fields a step and the closer-watch check-in share: when, how long, what."""
    values = table.values
    offset = table.duration("offset")
    window = None
    if "window" in values:
        window_text = table.string("window", _WINDOW_EXAMPLE)
        try:
            window = parse_window(window_text)
        except ValueError as exc:
            raise table.error("window", str(exc)) from None
    useful_for = table.duration("useful_for")
    if useful_for <= dt.timedelta(0):
        shown = format_duration(useful_for)
        raise table.error("useful_for", f"must be longer than zero, got {shown!r}")
    respond_within = None
    if kind is StepKind.CHECKIN:
        respond_within = table.duration("respond_within")
        if respond_within <= dt.timedelta(0):
            shown = format_duration(respond_within)
            raise table.error("respond_within", f"must be longer than zero, got {shown!r}")
    elif "respond_within" in values:
        raise table.error("respond_within", f"only check-in steps have it, not a {kind} step")
    text = table.string("text", "the English message text").strip()
    if not text:
        raise table.error("text", "must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise table.error(
            "text",
            f"is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}, "
            "so that a translation still fits in one Telegram message",
        )
    texts = _parse_texts(table, values.get("texts"))
    return Step(key, kind, offset, window, useful_for, text, respond_within, texts)


def _parse_texts(table: "_Table", raw: object) -> dict[str, str]:
    """`[step.texts]`: the step's text in other languages, by language code."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise table.error("texts", f"expected a table of language = text, got {_describe(raw)}")
    texts: dict[str, str] = {}
    for lang, value in raw.items():
        if not _LANGUAGE.fullmatch(lang):
            raise table.error(f"texts.{lang}", f"{lang!r} is not a language code like fr or pt_BR")
        if not isinstance(value, str) or not value.strip():
            raise table.error(f"texts.{lang}", "must be a non-empty text")
        if len(value.strip()) > MAX_TEXT_LENGTH:
            raise table.error(f"texts.{lang}", f"is longer than {MAX_TEXT_LENGTH} characters")
        texts[lang] = value.strip()
    return texts


def _parse_triage(protocol: "_Table") -> TriageRules:
    table = protocol.table("triage")
    table.refuse_unknown(_TRIAGE_FIELDS)
    usual_course = _parse_usual_course(table.table("usual_course"))
    flag_levels = _parse_flag_levels(table.table("flags"))
    # every other field may be left out: TriageRules holds its defaults
    defaults = TriageRules({}, flag_levels)
    worsening_levels = defaults.worsening_levels
    if "worsening_levels" in table.values:
        worsening_levels = table.integer("worsening_levels")
        # five levels on the scale, so no change is bigger than four
        if not 1 <= worsening_levels <= Severity.VERY_SEVERE:
            raise table.error(
                "worsening_levels", f"must be between 1 and 4, got {worsening_levels}"
            )
    severe = defaults.severe
    if "severe" in table.values:
        severe = table.choice("severe", Severity.parse, "a severity like severe")
        if severe == Severity.NONE:
            raise table.error("severe", "must be mild or above; at none every answer is unusual")
    urgent_when_severe = defaults.urgent_when_severe
    if "urgent_when_severe" in table.values:
        urgent_when_severe = frozenset(table.names("urgent_when_severe", SYMPTOMS, "symptom"))
    urgent_when_rising = defaults.urgent_when_rising
    if "urgent_when_rising" in table.values:
        urgent_when_rising = frozenset(table.names("urgent_when_rising", SYMPTOMS, "symptom"))
    worsening_after = table.optional_duration(
        "worsening_after", defaults.worsening_after, zero_allowed=True
    )
    urgent_when_rising_after = table.optional_duration(
        "urgent_when_rising_after", defaults.urgent_when_rising_after, zero_allowed=True
    )
    nothing_expected_from = table.optional_duration(
        "nothing_expected_from", defaults.nothing_expected_from, zero_allowed=False
    )
    for symptom, course in usual_course.items():
        if course >= nothing_expected_from:
            raise table.error(
                "nothing_expected_from",
                f"must come after every usual course, but {symptom} lasts "
                f"{format_duration(course)!r}; nothing is expected from this time on",
            )
    symptom_rules = defaults.symptom_rules
    if "rule" in table.values:
        symptom_rules = _parse_symptom_rules(table)
    return TriageRules(
        usual_course,
        flag_levels,
        worsening_levels,
        severe,
        urgent_when_severe,
        worsening_after,
        urgent_when_rising,
        urgent_when_rising_after,
        nothing_expected_from,
        symptom_rules,
    )


def _parse_symptom_rules(triage: "_Table") -> tuple[SymptomRule, ...]:
    """`[[triage.rule]]`: symptoms reported together within a time range, and their level."""
    raw = triage.values["rule"]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise triage.error("rule", f"expected [[triage.rule]] tables, got {_describe(raw)}")
    rules: list[SymptomRule] = []
    for number, item in enumerate(raw, start=1):
        table = _Table(item, triage.source, triage.step, f"{triage.prefix}rule[{number}].")
        table.refuse_unknown(_RULE_FIELDS)
        reason = table.string("reason", "a reason name")
        if reason not in RULE_MESSAGES:
            known = ", ".join(RULE_MESSAGES)
            raise table.error("reason", f"{reason!r} is not a rule reason; known: {known}")
        level = table.choice("level", Level.parse, "a level like urgent")
        if level == Level.EXPECTED:
            raise table.error("level", "a rule must be unusual, urgent or emergency")
        symptoms = table.table("symptoms")
        symptoms.refuse_unknown(SYMPTOMS, what="symptom")
        if not symptoms.values:
            raise table.error("symptoms", "name at least one symptom and its least severity")
        least: dict[str, Severity] = {}
        for symptom in symptoms.values:
            least[symptom] = symptoms.choice(symptom, Severity.parse, "a severity like mild")
            if least[symptom] == Severity.NONE:
                raise symptoms.error(symptom, "must be mild or above; none is always reported")
        after = table.optional_duration("after", None, zero_allowed=True)
        within = table.optional_duration("within", None, zero_allowed=False)
        if after is not None and within is not None and within <= after:
            raise table.error(
                "within",
                f"must be longer than after ({format_duration(after)!r}), "
                f"got {format_duration(within)!r}",
            )
        rules.append(SymptomRule(reason, level, least, after, within))
    return tuple(rules)


def _parse_usual_course(table: "_Table") -> dict[str, dt.timedelta]:
    # a symptom left out has no course limit: it is never unusual just for lasting
    table.refuse_unknown(SYMPTOMS, what="symptom")
    courses: dict[str, dt.timedelta] = {}
    for symptom in table.values:
        course = table.duration(symptom)
        # reasons give the course in whole hours
        if course <= dt.timedelta(0) or course % dt.timedelta(hours=1):
            shown = format_duration(course)
            raise table.error(symptom, f"must be a whole number of hours above zero, got {shown!r}")
        courses[symptom] = course
    return courses


def _parse_flag_levels(table: "_Table") -> dict[str, Level]:
    for legacy, parts in LEGACY_FLAGS.items():
        if legacy in table.values:
            raise table.error(
                legacy,
                "this red flag was split; give "
                + " and ".join(repr(part) for part in parts)
                + " their own levels instead (docs/clinical.md#red-flag-levels)",
            )
    table.refuse_unknown(FLAGS, what="red flag")
    levels: dict[str, Level] = {}
    for flag in FLAGS:
        # a red flag without a level would be dropped without a word
        level = table.choice(flag, Level.parse, "a level like urgent")
        if level == Level.EXPECTED:
            raise table.error(flag, "a red flag must be unusual, urgent or emergency")
        levels[flag] = level
    return levels


@dataclass(frozen=True)
class _Table:
    """One TOML table being read, with what it takes to say where a problem is."""

    values: Mapping[str, object]
    source: str
    step: str | None
    # where a nested table sits, like "triage.flags.": errors name the field with it
    prefix: str = ""

    def error(self, field: str, problem: str) -> ProtocolError:
        return ProtocolError(self.source, problem, step=self.step, field=self.prefix + field)

    def refuse_unknown(self, known: tuple[str, ...], what: str = "field") -> None:
        # a misspelt optional field would otherwise be silently ignored
        for field in self.values:
            if field not in known:
                close = difflib.get_close_matches(field, known, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "known: " + ", ".join(known)
                raise self.error(field, f"unknown {what}; {hint}")

    def table(self, field: str) -> "_Table":
        value = self.required(field)
        if not isinstance(value, dict):
            raise self.error(
                field, f"expected a table [{self.prefix}{field}], got {_describe(value)}"
            )
        return _Table(value, self.source, self.step, f"{self.prefix}{field}.")

    def names(self, field: str, known: tuple[str, ...], what: str) -> list[str]:
        value = self.required(field)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.error(field, f"expected an array of {what} names, got {_describe(value)}")
        seen: list[str] = []
        for name in value:
            if name not in known:
                raise self.error(field, f"{name!r} is not a {what}; known: {', '.join(known)}")
            if name in seen:
                raise self.error(field, f"{name!r} is listed twice")
            seen.append(name)
        return seen

    def choice(self, field: str, parse: Callable[[str], _T], expected: str) -> _T:
        value = self.string(field, expected)
        try:
            return parse(value)
        except ValueError as exc:
            raise self.error(field, str(exc)) from None

    def required(self, field: str) -> object:
        if field not in self.values:
            raise self.error(field, "missing")
        return self.values[field]

    def string(self, field: str, expected: str) -> str:
        value = self.required(field)
        if not isinstance(value, str):
            raise self.error(field, f"expected a string ({expected}), got {_describe(value)}")
        return value

    def boolean(self, field: str, *, default: bool) -> bool:
        if field not in self.values:
            return default
        value = self.values[field]
        if not isinstance(value, bool):
            raise self.error(field, f"expected true or false, got {_describe(value)}")
        return value

    def integer(self, field: str) -> int:
        value = self.required(field)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(field, f"expected a whole number, got {_describe(value)}")
        return value

    def name(self, field: str) -> str:
        value = self.string(field, "lowercase letters, digits and hyphens")
        if _NAME.fullmatch(value) is None:
            raise self.error(
                field,
                f"{value!r} must be lowercase letters and digits, "
                "with single hyphens between words (like eye-area)",
            )
        return value

    def optional_duration(
        self, field: str, default: _D, *, zero_allowed: bool
    ) -> dt.timedelta | _D:
        if field not in self.values:
            return default
        duration = self.duration(field)
        shown = format_duration(duration)
        if duration < dt.timedelta(0) or (duration == dt.timedelta(0) and not zero_allowed):
            least = "zero or more" if zero_allowed else "longer than zero"
            raise self.error(field, f"must be {least}, got {shown!r}")
        return duration

    def duration(self, field: str) -> dt.timedelta:
        value = self.string(field, _DURATION_EXAMPLE)
        try:
            return parse_duration(value)
        except ValueError as exc:
            raise self.error(field, str(exc)) from None


def _describe(value: object) -> str:
    match value:
        case bool():
            kind = "a boolean"
        case int():
            kind = "an integer"
        case float():
            kind = "a decimal number"
        case str():
            kind = "a string"
        case list():
            return "an array"
        case dict():
            return "a table"
        case dt.datetime() | dt.date() | dt.time():
            kind = "a date or time"
        case _:
            return type(value).__name__
    return f"{kind} ({value!r})" if len(repr(value)) <= 40 else kind
