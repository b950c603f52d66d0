"""Protocol files: the shipped ones are sound, and every kind of mistake is refused by name."""

import datetime as dt
import re
from pathlib import Path

import pytest

import bot
from bot.domain.protocol import (
    CLOSER_WATCH_KEY,
    DEFAULT_COURSE_INTERVAL,
    MAX_TEXT_LENGTH,
    Protocol,
    ProtocolError,
    StepKind,
    TimeWindow,
    format_duration,
    parse_duration,
    parse_protocol,
    parse_window,
)
from bot.domain.triage import DEFAULT_SYMPTOM_RULES, Level, Severity, SymptomRule

SHIPPED = sorted((Path(bot.__file__).parent / "protocols").glob("*.toml"))
SHIPPED_TREATMENTS = {"face", "eye-area", "scalp", "body"}

# Every shipped file must carry these steps, with the same key and kind everywhere.
COMMON_STEPS = {
    "avoid-before": StepKind.TIP,
    "day-before": StepKind.REMINDER,
    "right-after": StepKind.TIP,
    "same-evening": StepKind.TIP,
    "sun-morning": StepKind.TIP,
    "heat-and-skincare": StepKind.TIP,
    "restrictions-end": StepKind.TIP,
    "next-session": StepKind.REMINDER,
}

# The evenings (day 0 is the session day) of each treatment's check-ins: swelling lasts longer
# on the body; late complications are watched on days 14, 21 and 42, and 84 after body work
# (docs/clinical.md#late-complications).
CHECKIN_DAYS = {
    "face": [1, 3, 7, 14, 21, 42],
    "scalp": [1, 3, 7, 14, 21, 42],
    "eye-area": [1, 3, 7, 14, 21, 42],
    "body": [1, 3, 5, 7, 14, 21, 42, 84],
}
LATE_DAYS = {14, 21, 42, 84}


def _shipped(path: Path) -> Protocol:
    return parse_protocol(path.read_text(encoding="utf-8"), path.name)


HEADER = """\
treatment = "face"
title = "Mesotherapy: face"
restriction_days = 3
"""

GOOD_STEP = """\
[[step]]
key = "sun-morning"
kind = "tip"
offset = "10h"
window = "08:00-11:00"
useful_for = "1d"
text = "Keep out of the sun."
"""


CHECKIN_STEP = """\
[[step]]
key = "checkin-day1"
kind = "checkin"
offset = "1d"
window = "18:00-20:30"
useful_for = "1d"
respond_within = "12h"
text = "How is your skin doing since your treatment?"
"""

TRIAGE_FIELDS = """\
worsening_levels = 2
severe = "severe"
urgent_when_severe = ["pain"]
"""
USUAL_COURSE = """\
redness = "3d"
swelling = "3d"
bruising = "14d"
"""
FLAG_LEVELS = """\
breathing = "emergency"
faint = "emergency"
vision = "emergency"
hives = "urgent"
fever = "urgent"
pus = "urgent"
spreading = "urgent"
skin_colour = "urgent"
"""


def _triage(
    fields: str = TRIAGE_FIELDS, usual_course: str = USUAL_COURSE, flags: str = FLAG_LEVELS
) -> str:
    return f"\n[triage]\n{fields}\n[triage.usual_course]\n{usual_course}\n[triage.flags]\n{flags}"


def _checkin_file(triage: str | None = None, step: str = CHECKIN_STEP) -> str:
    """A file with one check-in step and a [triage] table (the good one unless given)."""
    return _with(step) + (_triage() if triage is None else triage)


def _with(step_lines: str, header: str = HEADER) -> str:
    return header + "\n" + step_lines


def _step(**changes: str | None) -> str:
    """GOOD_STEP with some fields replaced (a TOML value) or removed (None)."""
    fields: dict[str, str | None] = {
        "key": '"sun-morning"',
        "kind": '"tip"',
        "offset": '"10h"',
        "window": '"08:00-11:00"',
        "useful_for": '"1d"',
        "text": '"Keep out of the sun."',
    }
    fields.update(changes)
    body = "".join(f"{name} = {value}\n" for name, value in fields.items() if value is not None)
    return "[[step]]\n" + body


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_protocol_parses_with_the_common_steps(path: Path) -> None:
    protocol = _shipped(path)

    assert path.stem == protocol.treatment
    kinds = {step.key: step.kind for step in protocol.steps if step.kind is not StepKind.CHECKIN}
    assert kinds == COMMON_STEPS
    assert protocol.source == path.name


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_check_ins_are_on_the_evenings_of_their_days(path: Path) -> None:
    protocol = _shipped(path)
    checkins = [step for step in protocol.steps if step.kind is StepKind.CHECKIN]
    days = CHECKIN_DAYS[protocol.treatment]

    assert [step.key for step in checkins] == [f"checkin-day{day}" for day in days]
    for day, step in zip(days, checkins, strict=True):
        assert step.offset == dt.timedelta(days=day)
        assert step.window == TimeWindow(dt.time(18), dt.time(20, 30))
        assert step.useful_for == dt.timedelta(days=1)
        # the first evening is answered by the next morning; later ones get a day
        assert step.respond_within == dt.timedelta(hours=12 if day == 1 else 24)


def test_every_shipped_check_in_asks_one_of_two_questions() -> None:
    # the early ones ask how the skin is doing; the late ones name the late complications
    texts: dict[bool, set[str]] = {True: set(), False: set()}
    for protocol in map(_shipped, SHIPPED):
        for step in protocol.steps:
            if step.kind is StepKind.CHECKIN:
                texts[step.offset.days in LATE_DAYS].add(step.text)

    (early,) = texts[False]
    (late,) = texts[True]
    assert "since your treatment" in early
    for words in ("lump", "sore that leaks", "darker patch"):
        assert words in late
    for question in (early, late):
        assert question.endswith(".") or question.endswith("?")


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_late_check_ins_cover_twelve_weeks_on_the_body_six_elsewhere(path: Path) -> None:
    protocol = _shipped(path)
    late = [s.offset for s in protocol.steps if s.kind is StepKind.CHECKIN and s.offset.days >= 14]
    expected = [14, 21, 42] + ([84] if protocol.treatment == "body" else [])

    assert late == [dt.timedelta(days=day) for day in expected]


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_first_message_names_the_emergency_and_the_clinic_signs(path: Path) -> None:
    text = _shipped(path).step("right-after").text
    emergency, clinic = text.split("call the emergency number now")[1].split("call the clinic now")

    for words in ("breathing or swallowing", "lips, tongue or throat", "faint", "vision"):
        assert words in emergency
    for words in ("pain far stronger than expected", "pale, grey or dark", "blisters", "fever"):
        assert words in clinic
    # the number itself is in the settings, not in a protocol file
    assert not re.search(r"\b(112|911|999)\b", text)


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_only_check_ins_have_a_time_to_answer(path: Path) -> None:
    for step in _shipped(path).steps:
        assert (step.respond_within is not None) is (step.kind is StepKind.CHECKIN), step.key


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_protocol_has_the_triage_rules_of_clinical_md(path: Path) -> None:
    rules = _shipped(path).triage

    assert rules is not None
    # docs/clinical.md#red-flag-levels: the allergy flag split into faint and hives
    assert rules.flag_levels == {
        "breathing": Level.EMERGENCY,
        "faint": Level.EMERGENCY,
        "vision": Level.EMERGENCY,
        "hives": Level.URGENT,
        "fever": Level.URGENT,
        "pus": Level.URGENT,
        "spreading": Level.URGENT,
        "skin_colour": Level.URGENT,
    }
    assert rules.worsening_levels == 2
    assert rules.severe is Severity.SEVERE
    assert rules.urgent_when_severe == {"pain"}
    # docs/clinical.md#usual-course-per-treatment: redness after 72 hours is unusual, and
    # bruising after 14 days at the latest
    assert rules.usual_course["redness"] == dt.timedelta(days=3)
    assert rules.usual_course["bruising"] >= dt.timedelta(days=14)
    for symptom in ("darkening", "lump", "sore", "other"):
        assert symptom not in rules.usual_course
    assert rules.worsening_after == rules.urgent_when_rising_after == dt.timedelta(hours=48)
    assert rules.urgent_when_rising == {"redness", "burning", "pain"}
    assert rules.nothing_expected_from == dt.timedelta(days=28)
    assert rules.symptom_rules == DEFAULT_SYMPTOM_RULES


def test_swelling_lasts_longer_on_the_body_and_bruising_around_the_eyes() -> None:
    courses = {p.treatment: p.triage.usual_course for p in map(_shipped, SHIPPED) if p.triage}

    assert courses["face"]["swelling"] == dt.timedelta(days=3)
    assert courses["body"]["swelling"] > courses["face"]["swelling"]
    assert courses["face"]["bruising"] == dt.timedelta(days=14)
    assert courses["eye-area"]["bruising"] > courses["face"]["bruising"]
    assert courses["scalp"] == courses["face"]


def test_the_usual_courses_of_the_clinical_review() -> None:
    courses = {p.treatment: p.triage.usual_course for p in map(_shipped, SHIPPED) if p.triage}
    days = {
        treatment: {symptom: course.days for symptom, course in course_map.items()}
        for treatment, course_map in courses.items()
    }

    # docs/clinical.md#usual-course-per-treatment
    assert days["body"] == {
        "redness": 3,
        "swelling": 10,
        "bruising": 14,
        "bumps": 21,
        "itching": 3,
        "burning": 3,
        "pain": 7,
    }
    assert days["eye-area"]["bruising"] == 21


def test_all_four_treatments_are_shipped() -> None:
    assert {_shipped(path).treatment for path in SHIPPED} == SHIPPED_TREATMENTS


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_restrictions_end_after_the_restriction_days(path: Path) -> None:
    protocol = _shipped(path)
    ends = protocol.step("restrictions-end")

    assert ends.offset >= dt.timedelta(days=protocol.restriction_days)
    assert protocol.step("heat-and-skincare").offset < ends.offset


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_texts_are_short_plain_and_carry_no_doses(path: Path) -> None:
    for step in _shipped(path).steps:
        assert len(step.text) <= 900, step.key
        # routine messages sit in a chat others may see: no doses, no markup
        assert not re.search(r"\d\s*(mg|ml|mcg|g)\b", step.text, re.IGNORECASE), step.key
        assert not re.search(r"[<>*_`]", step.text), step.key


def test_body_keeps_its_restrictions_longer_than_the_face() -> None:
    by_treatment = {protocol.treatment: protocol for protocol in map(_shipped, SHIPPED)}

    assert by_treatment["body"].restriction_days > by_treatment["face"].restriction_days


def test_a_good_file_gives_typed_steps() -> None:
    protocol = parse_protocol(_with(GOOD_STEP), "face.toml")
    step = protocol.step("sun-morning")

    assert protocol.treatment == "face"
    assert protocol.restriction_days == 3
    assert step.kind is StepKind.TIP
    assert step.offset == dt.timedelta(hours=10)
    assert step.window == TimeWindow(dt.time(8), dt.time(11))
    assert step.useful_for == dt.timedelta(days=1)
    assert step.text == "Keep out of the sun."


def test_a_step_without_a_window_may_be_sent_at_any_hour() -> None:
    protocol = parse_protocol(_with(_step(window=None)), "face.toml")

    assert protocol.step("sun-morning").window is None


def test_text_loses_the_blank_lines_around_a_multiline_string() -> None:
    protocol = parse_protocol(_with(_step(text='"""\nHello.\n• Water.\n"""')), "face.toml")

    assert protocol.step("sun-morning").text == "Hello.\n• Water."


def test_a_check_in_step_parses_with_its_time_to_answer_and_the_triage_rules() -> None:
    protocol = parse_protocol(_checkin_file(), "face.toml")
    step = protocol.step("checkin-day1")

    assert step.kind is StepKind.CHECKIN
    assert step.offset == dt.timedelta(days=1)
    assert step.window == TimeWindow(dt.time(18), dt.time(20, 30))
    assert step.respond_within == dt.timedelta(hours=12)
    assert step.text == "How is your skin doing since your treatment?"
    assert protocol.triage is not None
    assert protocol.triage.usual_course == {
        "redness": dt.timedelta(days=3),
        "swelling": dt.timedelta(days=3),
        "bruising": dt.timedelta(days=14),
    }
    assert protocol.triage.flag_levels["vision"] is Level.EMERGENCY
    assert protocol.triage.flag_levels["pus"] is Level.URGENT


def test_the_triage_numbers_may_be_left_to_their_defaults() -> None:
    lenient = _triage(fields='severe = "very_severe"\n')
    rules = parse_protocol(_checkin_file(lenient), "face.toml").triage

    assert rules is not None
    assert rules.severe is Severity.VERY_SEVERE
    assert rules.worsening_levels == 2
    assert rules.urgent_when_severe == {"pain"}


def test_no_symptom_is_urgent_when_severe_if_the_list_is_empty() -> None:
    rules = parse_protocol(
        _checkin_file(_triage(fields="urgent_when_severe = []\n")), "face.toml"
    ).triage

    assert rules is not None
    assert rules.urgent_when_severe == frozenset()


def test_triage_rules_without_check_ins_are_kept() -> None:
    protocol = parse_protocol(_with(GOOD_STEP) + _triage(), "face.toml")

    assert protocol.triage is not None


def test_a_file_without_check_ins_needs_no_triage_rules() -> None:
    assert parse_protocol(_with(GOOD_STEP), "face.toml").triage is None


def test_a_triage_error_names_the_file_and_the_field_in_one_line() -> None:
    flags = FLAG_LEVELS.replace('fever = "urgent"', 'fever = "soon"')
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(_checkin_file(_triage(flags=flags)), "face.toml")

    assert str(caught.value) == (
        "face.toml: field 'triage.flags.fever': "
        "'soon' is not a level; known: expected, unusual, urgent, emergency"
    )


def test_asking_for_an_absent_step_is_a_key_error() -> None:
    protocol = parse_protocol(_with(GOOD_STEP), "face.toml")

    with pytest.raises(KeyError):
        protocol.step("no-such-step")


def test_the_error_names_file_step_and_field_in_one_line() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(_with(_step(offset='"3x"')), "face.toml")

    assert str(caught.value) == (
        "face.toml: step 'sun-morning': field 'offset': "
        "'3x' is not a duration like -3d, 2h or 1d12h"
    )


def _rule(**changes: str | None) -> str:
    """One [[triage.rule]] (a lump after a week), with fields replaced or removed (None)."""
    fields: dict[str, str | None] = {
        "reason": '"mycobacteria"',
        "level": '"unusual"',
        "symptoms": '{ lump = "mild" }',
        "after": '"7d"',
    }
    fields.update(changes)
    body = "".join(f"{name} = {value}\n" for name, value in fields.items() if value is not None)
    return "\n[[triage.rule]]\n" + body


def test_a_file_without_symptom_rules_gets_the_shipped_ones() -> None:
    rules = parse_protocol(_checkin_file(), "face.toml").triage

    assert rules is not None
    assert rules.symptom_rules == DEFAULT_SYMPTOM_RULES
    assert rules.worsening_after == dt.timedelta(hours=48)
    assert rules.nothing_expected_from == dt.timedelta(days=28)


def test_a_clinic_writes_its_own_symptom_rules_and_times() -> None:
    fields = TRIAGE_FIELDS + (
        'worsening_after = "1d"\n'
        'urgent_when_rising = ["pain"]\n'
        'urgent_when_rising_after = "3d"\n'
        'nothing_expected_from = "21d"\n'
    )
    text = _checkin_file(
        _triage(fields)
        + _rule(symptoms='{ lump = "moderate", pain = "mild" }', level='"urgent"')
        + _rule(
            reason='"angioedema"', after=None, within='"12h"', symptoms='{ swelling = "severe" }'
        )
    )

    rules = parse_protocol(text, "face.toml").triage

    assert rules is not None
    assert rules.worsening_after == dt.timedelta(days=1)
    assert rules.urgent_when_rising == {"pain"}
    assert rules.urgent_when_rising_after == dt.timedelta(days=3)
    assert rules.nothing_expected_from == dt.timedelta(days=21)
    assert rules.symptom_rules == (
        SymptomRule(
            "mycobacteria",
            Level.URGENT,
            {"lump": Severity.MODERATE, "pain": Severity.MILD},
            after=dt.timedelta(days=7),
        ),
        SymptomRule(
            "angioedema",
            Level.UNUSUAL,
            {"swelling": Severity.SEVERE},
            within=dt.timedelta(hours=12),
        ),
    )
    assert rules.symptom_rules[0].symptom == "lump"


def test_no_symptom_is_urgent_when_rising_if_the_list_is_empty() -> None:
    rules = parse_protocol(
        _checkin_file(_triage(fields="urgent_when_rising = []\n")), "face.toml"
    ).triage

    assert rules is not None
    assert rules.urgent_when_rising == frozenset()


CLOSER_WATCH = """
[closer_watch]
offset = "12h"
window = "18:00-20:30"
useful_for = "1d"
respond_within = "12h"
text = "How is your skin doing since you last wrote?"
"""


def _closer_watch(**changes: str | None) -> str:
    """A file with one check-in step, a [closer_watch] table (changed as given) and triage."""
    fields: dict[str, str | None] = {
        "offset": '"12h"',
        "window": '"18:00-20:30"',
        "useful_for": '"1d"',
        "respond_within": '"12h"',
        "text": '"How is your skin doing?"',
    }
    fields.update(changes)
    body = "".join(f"{name} = {value}\n" for name, value in fields.items() if value is not None)
    return _with(CHECKIN_STEP) + "\n[closer_watch]\n" + body + _triage()


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_courses_allow_a_session_every_two_weeks_with_margin(path: Path) -> None:
    protocol = _shipped(path)
    # docs/clinical.md#mesotherapy-and-its-course-of-sessions: every 1-2 weeks, plus margin
    expected = dt.timedelta(days=28 if protocol.treatment == "body" else 21)

    assert protocol.course_interval == expected


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_booking_reminder_and_back_to_sauna_are_the_marked_steps(path: Path) -> None:
    steps = _shipped(path).steps

    assert [s.key for s in steps if s.skip_when_next_booked] == ["next-session"]
    assert [s.key for s in steps if s.hold_while_alert_open] == ["restrictions-end"]


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_closer_watch_is_a_check_in_on_the_next_evening(path: Path) -> None:
    protocol = _shipped(path)
    watch = protocol.closer_watch

    assert watch is not None
    assert (watch.key, watch.kind) == (CLOSER_WATCH_KEY, StepKind.CHECKIN)
    # 12 hours on, then the evening window: the first evening at least 12 hours after the report
    assert watch.offset == dt.timedelta(hours=12)
    assert watch.window == TimeWindow(dt.time(18), dt.time(20, 30))
    assert watch.useful_for == dt.timedelta(days=1)
    assert watch.respond_within == dt.timedelta(hours=12)
    assert watch.text == protocol.step("checkin-day1").text
    assert CLOSER_WATCH_KEY not in {step.key for step in protocol.steps}


def test_the_course_fields_may_be_left_to_their_defaults() -> None:
    protocol = parse_protocol(_with(GOOD_STEP), "face.toml")

    assert protocol.course_interval == DEFAULT_COURSE_INTERVAL == dt.timedelta(days=21)
    assert protocol.closer_watch is None
    step = protocol.step("sun-morning")
    assert (step.skip_when_next_booked, step.hold_while_alert_open) == (False, False)


def test_a_clinic_sets_its_course_interval_and_step_markers() -> None:
    text = _with(
        _step(skip_when_next_booked="true", hold_while_alert_open="true"),
        HEADER + 'course_interval = "14d"\n',
    )

    protocol = parse_protocol(text, "face.toml")

    assert protocol.course_interval == dt.timedelta(days=14)
    step = protocol.step("sun-morning")
    assert (step.skip_when_next_booked, step.hold_while_alert_open) == (True, True)


def test_a_closer_watch_parses_as_a_check_in_step() -> None:
    protocol = parse_protocol(_closer_watch(), "face.toml")

    assert protocol.closer_watch is not None
    assert protocol.closer_watch.offset == dt.timedelta(hours=12)
    assert protocol.closer_watch.respond_within == dt.timedelta(hours=12)
    assert protocol.closer_watch.text == "How is your skin doing?"


def test_a_closer_watch_without_a_window_may_be_sent_at_any_hour() -> None:
    protocol = parse_protocol(_closer_watch(window=None), "face.toml")

    assert protocol.closer_watch is not None
    assert protocol.closer_watch.window is None


TWO_STEPS_SAME_KEY = _step() + "\n" + _step(offset='"1d"')
NO_RESPOND_WITHIN = CHECKIN_STEP.replace('respond_within = "12h"\n', "")

MISTAKES = [
    # (id, file text, step named, field named, words in the message)
    ("bad offset", _with(_step(offset='"3x"')), "sun-morning", "offset", "not a duration"),
    ("offset plus sign", _with(_step(offset='"+1d"')), "sun-morning", "offset", "not a duration"),
    ("offset out of order", _with(_step(offset='"2h1d"')), "sun-morning", "offset", "duration"),
    ("bad window", _with(_step(window='"8-11"')), "sun-morning", "window", "09:00-20:00"),
    ("window hour 24", _with(_step(window='"08:00-24:00"')), "sun-morning", "window", "23:59"),
    (
        "window start after end",
        _with(_step(window='"20:00-09:00"')),
        "sun-morning",
        "window",
        "start before it ends",
    ),
    ("empty window", _with(_step(window='"11:00-11:00"')), "sun-morning", "window", "start before"),
    (
        "unknown step field",
        _with(_step(ofset='"1d"')),
        "sun-morning",
        "ofset",
        "did you mean 'offset'",
    ),
    ("unknown top field", _with(GOOD_STEP, HEADER + "tittle = 'x'\n"), None, "tittle", "'title'"),
    ("missing text", _with(_step(text=None)), "sun-morning", "text", "missing"),
    ("blank text", _with(_step(text='"   "')), "sun-morning", "text", "must not be empty"),
    (
        "text too long",
        _with(_step(text=f'"{"a" * (MAX_TEXT_LENGTH + 1)}"')),
        "sun-morning",
        "text",
        f"limit is {MAX_TEXT_LENGTH}",
    ),
    ("duplicate key", _with(TWO_STEPS_SAME_KEY), "sun-morning", "key", "step #1"),
    ("missing key", _with(_step(key=None)), "#1", "key", "missing"),
    ("bad key", _with(_step(key='"Sun Morning"')), "#1", "key", "lowercase"),
    ("bad kind", _with(_step(kind='"note"')), "sun-morning", "kind", "one of: tip, reminder"),
    ("zero useful_for", _with(_step(useful_for='"0m"')), "sun-morning", "useful_for", "than zero"),
    ("negative useful_for", _with(_step(useful_for='"-1d"')), "sun-morning", "useful_for", "zero"),
    ("offset wrong type", _with(_step(offset="3")), "sun-morning", "offset", "got an integer (3)"),
    ("window wrong type", _with(_step(window="08:00:00")), "sun-morning", "window", "date or time"),
    (
        "restriction_days wrong type",
        _with(GOOD_STEP, HEADER.replace("= 3", '= "3"')),
        None,
        "restriction_days",
        "expected a whole number, got a string",
    ),
    (
        "restriction_days boolean",
        _with(GOOD_STEP, HEADER.replace("= 3", "= true")),
        None,
        "restriction_days",
        "a boolean",
    ),
    (
        "restriction_days negative",
        _with(GOOD_STEP, HEADER.replace("= 3", "= -1")),
        None,
        "restriction_days",
        "zero or more",
    ),
    (
        "missing treatment",
        _with(GOOD_STEP, HEADER.replace('treatment = "face"\n', "")),
        None,
        "treatment",
        "missing",
    ),
    (
        "bad treatment name",
        _with(GOOD_STEP, HEADER.replace('"face"', '"Face area"')),
        None,
        "treatment",
        "eye-area",
    ),
    (
        "blank title",
        _with(GOOD_STEP, HEADER.replace('"Mesotherapy: face"', '" "')),
        None,
        "title",
        "empty",
    ),
    ("empty step list", HEADER + "step = []\n", None, "step", "at least one"),
    ("no steps at all", HEADER, None, "step", "missing"),
    ("step not a table", HEADER + 'step = ["x"]\n', None, "step", "[[step]] tables"),
    # --- check-in steps and their time to answer
    (
        "check-in without respond_within",
        _checkin_file(step=NO_RESPOND_WITHIN),
        "checkin-day1",
        "respond_within",
        "missing",
    ),
    (
        "respond_within on a tip",
        _with(_step(respond_within='"12h"')),
        "sun-morning",
        "respond_within",
        "only check-in steps have it, not a tip step",
    ),
    (
        "respond_within on a reminder",
        _with(_step(kind='"reminder"', respond_within='"12h"')),
        "sun-morning",
        "respond_within",
        "not a reminder step",
    ),
    (
        "zero respond_within",
        _checkin_file(step=CHECKIN_STEP.replace('"12h"', '"0m"')),
        "checkin-day1",
        "respond_within",
        "longer than zero",
    ),
    (
        "bad respond_within",
        _checkin_file(step=CHECKIN_STEP.replace('"12h"', '"half a day"')),
        "checkin-day1",
        "respond_within",
        "not a duration",
    ),
    # --- the course and the step markers
    (
        "course_interval not a duration",
        _with(GOOD_STEP, HEADER + 'course_interval = "3 weeks"\n'),
        None,
        "course_interval",
        "not a duration",
    ),
    (
        "course_interval a number",
        _with(GOOD_STEP, HEADER + "course_interval = 21\n"),
        None,
        "course_interval",
        "got an integer (21)",
    ),
    (
        "course_interval zero",
        _with(GOOD_STEP, HEADER + 'course_interval = "0d"\n'),
        None,
        "course_interval",
        "longer than zero, got '0m'",
    ),
    (
        "course_interval negative",
        _with(GOOD_STEP, HEADER + 'course_interval = "-21d"\n'),
        None,
        "course_interval",
        "longer than zero",
    ),
    (
        "course_interval misspelt",
        _with(GOOD_STEP, HEADER + 'course_intervals = "21d"\n'),
        None,
        "course_intervals",
        "did you mean 'course_interval'?",
    ),
    (
        "skip_when_next_booked a string",
        _with(_step(skip_when_next_booked='"yes"')),
        "sun-morning",
        "skip_when_next_booked",
        "expected true or false, got a string ('yes')",
    ),
    (
        "hold_while_alert_open a number",
        _with(_step(hold_while_alert_open="1")),
        "sun-morning",
        "hold_while_alert_open",
        "expected true or false, got an integer (1)",
    ),
    (
        "hold_while_alert_open misspelt",
        _with(_step(hold_while_alert="true")),
        "sun-morning",
        "hold_while_alert",
        "did you mean 'hold_while_alert_open'?",
    ),
    # --- the [closer_watch] table
    (
        "closer_watch not a table",
        _with(GOOD_STEP, HEADER + 'closer_watch = "1d"\n'),
        None,
        "closer_watch",
        "expected a table [closer_watch], got a string",
    ),
    (
        "closer_watch without offset",
        _closer_watch(offset=None),
        None,
        "closer_watch.offset",
        "missing",
    ),
    (
        "closer_watch at once",
        _closer_watch(offset='"0m"'),
        None,
        "closer_watch.offset",
        "longer than zero (after the report), got '0m'",
    ),
    (
        "closer_watch before the report",
        _closer_watch(offset='"-1d"'),
        None,
        "closer_watch.offset",
        "longer than zero",
    ),
    (
        "closer_watch bad window",
        _closer_watch(window='"evening"'),
        None,
        "closer_watch.window",
        "09:00-20:00",
    ),
    (
        "closer_watch without respond_within",
        _closer_watch(respond_within=None),
        None,
        "closer_watch.respond_within",
        "missing",
    ),
    (
        "closer_watch zero useful_for",
        _closer_watch(useful_for='"0m"'),
        None,
        "closer_watch.useful_for",
        "longer than zero",
    ),
    (
        "closer_watch without text",
        _closer_watch(text=None),
        None,
        "closer_watch.text",
        "missing",
    ),
    (
        "closer_watch with a key",
        _closer_watch(key='"watch"'),
        None,
        "closer_watch.key",
        "unknown field",
    ),
    (
        "closer_watch with a kind",
        _closer_watch(kind='"checkin"'),
        None,
        "closer_watch.kind",
        "unknown field",
    ),
    (
        "a step takes the closer-watch key",
        _with(_step(key=f'"{CLOSER_WATCH_KEY}"')) + CLOSER_WATCH + _triage(),
        None,
        "closer_watch",
        "give the step of that key another key",
    ),
    (
        "closer_watch without triage",
        _with(GOOD_STEP) + CLOSER_WATCH,
        None,
        "triage",
        "needs a [triage] table",
    ),
    # --- the [triage] table
    (
        "check-ins without triage",
        _checkin_file(triage=""),
        None,
        "triage",
        "missing; a protocol with check-in steps needs a [triage] table",
    ),
    (
        "triage not a table",
        _with(GOOD_STEP, HEADER + "triage = 3\n"),
        None,
        "triage",
        "expected a table",
    ),
    (
        "unknown triage field",
        _checkin_file(_triage(TRIAGE_FIELDS + "worsening_level = 3\n")),
        None,
        "triage.worsening_level",
        "did you mean 'worsening_levels'?",
    ),
    (
        "worsening_levels zero",
        _checkin_file(_triage("worsening_levels = 0\n")),
        None,
        "triage.worsening_levels",
        "between 1 and 4, got 0",
    ),
    (
        "worsening_levels beyond the scale",
        _checkin_file(_triage("worsening_levels = 5\n")),
        None,
        "triage.worsening_levels",
        "between 1 and 4",
    ),
    (
        "worsening_levels a string",
        _checkin_file(_triage('worsening_levels = "2"\n')),
        None,
        "triage.worsening_levels",
        "expected a whole number",
    ),
    (
        "unknown severity",
        _checkin_file(_triage('severe = "very severe"\n')),
        None,
        "triage.severe",
        "'very severe' is not a severity; known: none, mild, moderate, severe, very_severe",
    ),
    (
        "severe at none",
        _checkin_file(_triage('severe = "none"\n')),
        None,
        "triage.severe",
        "mild or above",
    ),
    (
        "urgent_when_severe unknown symptom",
        _checkin_file(_triage('urgent_when_severe = ["pain", "fever"]\n')),
        None,
        "triage.urgent_when_severe",
        "'fever' is not a symptom",
    ),
    (
        "urgent_when_severe twice",
        _checkin_file(_triage('urgent_when_severe = ["pain", "pain"]\n')),
        None,
        "triage.urgent_when_severe",
        "listed twice",
    ),
    (
        "urgent_when_severe not an array",
        _checkin_file(_triage('urgent_when_severe = "pain"\n')),
        None,
        "triage.urgent_when_severe",
        "expected an array of symptom names",
    ),
    (
        "missing usual_course",
        _with(CHECKIN_STEP) + "\n[triage]\n[triage.flags]\n" + FLAG_LEVELS,
        None,
        "triage.usual_course",
        "missing",
    ),
    (
        "unknown symptom in usual_course",
        _checkin_file(_triage(usual_course='rednes = "3d"\n')),
        None,
        "triage.usual_course.rednes",
        "unknown symptom; did you mean 'redness'?",
    ),
    (
        "bad course duration",
        _checkin_file(_triage(usual_course='redness = "3 days"\n')),
        None,
        "triage.usual_course.redness",
        "not a duration",
    ),
    (
        "zero course",
        _checkin_file(_triage(usual_course='swelling = "0d"\n')),
        None,
        "triage.usual_course.swelling",
        "above zero",
    ),
    (
        "course not in whole hours",
        _checkin_file(_triage(usual_course='bumps = "1d30m"\n')),
        None,
        "triage.usual_course.bumps",
        "whole number of hours above zero, got '1d30m'",
    ),
    (
        "course a number",
        _checkin_file(_triage(usual_course="bruising = 14\n")),
        None,
        "triage.usual_course.bruising",
        "got an integer (14)",
    ),
    (
        "missing flags",
        _with(CHECKIN_STEP) + "\n[triage]\n[triage.usual_course]\n" + USUAL_COURSE,
        None,
        "triage.flags",
        "missing",
    ),
    (
        "flag left out",
        _checkin_file(_triage(flags=FLAG_LEVELS.replace('vision = "emergency"\n', ""))),
        None,
        "triage.flags.vision",
        "missing",
    ),
    (
        "unknown flag",
        _checkin_file(_triage(flags=FLAG_LEVELS + 'nausea = "unusual"\n')),
        None,
        "triage.flags.nausea",
        "unknown red flag; known: breathing",
    ),
    (
        "unknown level",
        _checkin_file(_triage(flags=FLAG_LEVELS.replace('fever = "urgent"', 'fever = "high"'))),
        None,
        "triage.flags.fever",
        "'high' is not a level; known: expected, unusual, urgent, emergency",
    ),
    (
        "red flag expected",
        _checkin_file(_triage(flags=FLAG_LEVELS.replace('pus = "urgent"', 'pus = "expected"'))),
        None,
        "triage.flags.pus",
        "must be unusual, urgent or emergency",
    ),
    (
        "the old allergy flag",
        _checkin_file(_triage(flags=FLAG_LEVELS + 'allergy = "emergency"\n')),
        None,
        "triage.flags.allergy",
        "this red flag was split; give 'faint' and 'hives' their own levels instead",
    ),
    (
        "hives left out",
        _checkin_file(_triage(flags=FLAG_LEVELS.replace('hives = "urgent"\n', ""))),
        None,
        "triage.flags.hives",
        "missing",
    ),
    # --- worsening, rising, and the end of what is expected
    (
        "worsening_after negative",
        _checkin_file(_triage('worsening_after = "-1d"\n')),
        None,
        "triage.worsening_after",
        "must be zero or more, got '-1d'",
    ),
    (
        "worsening_after a number",
        _checkin_file(_triage("worsening_after = 48\n")),
        None,
        "triage.worsening_after",
        "got an integer (48)",
    ),
    (
        "urgent_when_rising unknown symptom",
        _checkin_file(_triage('urgent_when_rising = ["redness", "warmth"]\n')),
        None,
        "triage.urgent_when_rising",
        "'warmth' is not a symptom",
    ),
    (
        "urgent_when_rising not an array",
        _checkin_file(_triage('urgent_when_rising = "pain"\n')),
        None,
        "triage.urgent_when_rising",
        "expected an array of symptom names",
    ),
    (
        "urgent_when_rising_after malformed",
        _checkin_file(_triage('urgent_when_rising_after = "day 2"\n')),
        None,
        "triage.urgent_when_rising_after",
        "not a duration",
    ),
    (
        "urgent_when_rising_after negative",
        _checkin_file(_triage('urgent_when_rising_after = "-2d"\n')),
        None,
        "triage.urgent_when_rising_after",
        "zero or more",
    ),
    (
        "nothing_expected_from zero",
        _checkin_file(_triage('nothing_expected_from = "0d"\n')),
        None,
        "triage.nothing_expected_from",
        "must be longer than zero, got '0m'",
    ),
    (
        "nothing_expected_from inside a usual course",
        _checkin_file(_triage('nothing_expected_from = "14d"\n')),
        None,
        "triage.nothing_expected_from",
        "must come after every usual course, but bruising lasts '14d'",
    ),
    (
        "nothing_expected_from misspelt",
        _checkin_file(_triage('nothing_expected_after = "28d"\n')),
        None,
        "triage.nothing_expected_after",
        "did you mean 'nothing_expected_from'?",
    ),
    # --- [[triage.rule]]
    (
        "rule not a table",
        _checkin_file(_triage('rule = "angioedema"\n')),
        None,
        "triage.rule",
        "expected [[triage.rule]] tables, got a string",
    ),
    (
        "rule with an unknown reason",
        _checkin_file(_triage() + _rule(reason='"infection"')),
        None,
        "triage.rule[1].reason",
        "'infection' is not a rule reason; known: darkening, other, angioedema",
    ),
    (
        "rule without a reason",
        _checkin_file(_triage() + _rule(reason=None)),
        None,
        "triage.rule[1].reason",
        "missing",
    ),
    (
        "rule at expected",
        _checkin_file(_triage() + _rule(level='"expected"')),
        None,
        "triage.rule[1].level",
        "must be unusual, urgent or emergency",
    ),
    (
        "rule with an unknown level",
        _checkin_file(_triage() + _rule(level='"soon"')),
        None,
        "triage.rule[1].level",
        "'soon' is not a level",
    ),
    (
        "rule without symptoms",
        _checkin_file(_triage() + _rule(symptoms=None)),
        None,
        "triage.rule[1].symptoms",
        "missing",
    ),
    (
        "rule with no symptom named",
        _checkin_file(_triage() + _rule(symptoms="{}")),
        None,
        "triage.rule[1].symptoms",
        "name at least one symptom",
    ),
    (
        "rule symptoms as a list",
        _checkin_file(_triage() + _rule(symptoms='["lump"]')),
        None,
        "triage.rule[1].symptoms",
        "expected a table",
    ),
    (
        "rule with an unknown symptom",
        _checkin_file(_triage() + _rule(symptoms='{ lumps = "mild" }')),
        None,
        "triage.rule[1].symptoms.lumps",
        "unknown symptom; did you mean 'lump'?",
    ),
    (
        "rule with an unknown severity",
        _checkin_file(_triage() + _rule(symptoms='{ lump = "any" }')),
        None,
        "triage.rule[1].symptoms.lump",
        "'any' is not a severity",
    ),
    (
        "rule at severity none",
        _checkin_file(_triage() + _rule(symptoms='{ lump = "none" }')),
        None,
        "triage.rule[1].symptoms.lump",
        "must be mild or above",
    ),
    (
        "rule within zero",
        _checkin_file(_triage() + _rule(within='"0h"')),
        None,
        "triage.rule[1].within",
        "must be longer than zero",
    ),
    (
        "rule after negative",
        _checkin_file(_triage() + _rule(after='"-1d"')),
        None,
        "triage.rule[1].after",
        "must be zero or more",
    ),
    (
        "rule within before after",
        _checkin_file(_triage() + _rule(after='"7d"', within='"7d"')),
        None,
        "triage.rule[1].within",
        "must be longer than after ('7d'), got '7d'",
    ),
    (
        "second rule misspelt",
        _checkin_file(_triage() + _rule() + _rule(whithin='"6h"')),
        None,
        "triage.rule[2].whithin",
        "did you mean 'within'?",
    ),
    (
        "flags not a table",
        _with(CHECKIN_STEP) + '\n[triage]\nflags = ["fever"]\n[triage.usual_course]\n',
        None,
        "triage.flags",
        "expected a table [triage.flags], got an array",
    ),
]


@pytest.mark.parametrize(
    ("text", "step", "field", "words"),
    [case[1:] for case in MISTAKES],
    ids=[case[0] for case in MISTAKES],
)
def test_a_mistake_is_refused_naming_file_step_and_field(
    text: str, step: str | None, field: str, words: str
) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "clinic/face.toml")

    error = caught.value
    assert (error.source, error.step, error.field) == ("clinic/face.toml", step, field)
    message = str(error)
    assert message.startswith("clinic/face.toml: ")
    assert f"field '{field}'" in message
    if step is not None:
        assert step in message
    assert words in message


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(HEADER + "[[step]]\nkey = \n", 5, id="missing value"),
        pytest.param('treatment = "face"\ntitle "x"\n', 2, id="missing equals sign"),
        pytest.param('treatment = "face"\ntreatment = "body"\n', 2, id="key given twice"),
    ],
)
def test_a_toml_syntax_error_names_the_file_and_the_line(text: str, line: int) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "face.toml")

    assert caught.value.line == line
    assert str(caught.value).startswith(f"face.toml: line {line}: not valid TOML: ")


def test_a_toml_error_at_the_end_of_the_file_still_names_the_file() -> None:
    with pytest.raises(ProtocolError, match=r"^face\.toml: not valid TOML: .*end of document"):
        parse_protocol('treatment = "face', "face.toml")


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("-3d", dt.timedelta(days=-3)),
        ("1d12h", dt.timedelta(days=1, hours=12)),
        ("30m", dt.timedelta(minutes=30)),
        ("0m", dt.timedelta(0)),
        ("2h", dt.timedelta(hours=2)),
        ("3d10h", dt.timedelta(days=3, hours=10)),
        ("-1d2h30m", -dt.timedelta(days=1, hours=2, minutes=30)),
    ],
)
def test_a_duration_round_trips(text: str, duration: dt.timedelta) -> None:
    assert parse_duration(text) == duration
    assert format_duration(duration) == text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("36h", "1d12h"), ("90m", "1h30m"), ("0d", "0m"), ("-0m", "0m"), ("1d0h", "1d")],
)
def test_a_duration_is_formatted_in_canonical_form(text: str, canonical: str) -> None:
    assert format_duration(parse_duration(text)) == canonical


@pytest.mark.parametrize(
    "text", ["", "-", "3", "d", "1h2d", "1.5h", "+1d", "1d 2h", "1D", "2w", " 1d", "1s"]
)
def test_a_malformed_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like"):
        parse_duration(text)


def test_a_duration_too_long_for_python_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("9999999999d")


def test_a_duration_with_seconds_cannot_be_formatted() -> None:
    with pytest.raises(ValueError, match="whole number of minutes"):
        format_duration(dt.timedelta(seconds=90))


@pytest.mark.parametrize(
    ("t", "inside"),
    [
        (dt.time(8, 59), False),
        (dt.time(9, 0), True),
        (dt.time(14, 30), True),
        (dt.time(20, 0), True),
        (dt.time(20, 0, 1), False),
    ],
)
def test_a_window_includes_both_ends(t: dt.time, inside: bool) -> None:
    window = parse_window("09:00-20:00")

    assert window.contains(t) is inside
    assert str(window) == "09:00-20:00"


@pytest.mark.parametrize("text", ["9:00-20:00", "09:00–20:00", "09:00 - 20:00", "20:00-09:00"])
def test_a_malformed_window_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_window(text)


def test_a_window_cannot_be_built_backwards() -> None:
    with pytest.raises(ValueError, match="start before it ends"):
        TimeWindow(dt.time(20), dt.time(9))
