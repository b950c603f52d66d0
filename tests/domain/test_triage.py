"""Triage: every rule of docs/clinical.md#triage-rules, judged with the shipped protocols' rules."""

import ast
import datetime as dt
import string
from dataclasses import KW_ONLY, dataclass
from pathlib import Path

import pytest

import bot
from bot.domain import triage
from bot.domain.protocol import parse_protocol
from bot.domain.triage import (
    DEFAULT_SYMPTOM_RULES,
    FLAGS,
    LEGACY_FLAGS,
    RULE_MESSAGES,
    SYMPTOMS,
    Assessment,
    Level,
    Reason,
    Report,
    Severity,
    SymptomRule,
    TriageRules,
    assess,
    within_usual_course,
)
from bot.services.vocabulary import FLAG_DESCRIPTIONS, FLAG_LABELS, SYMPTOM_LABELS

PROTOCOLS = Path(bot.__file__).parent / "protocols"


def _rules(treatment: str) -> TriageRules:
    path = PROTOCOLS / f"{treatment}.toml"
    rules = parse_protocol(path.read_text(encoding="utf-8"), path.name).triage
    assert rules is not None
    return rules


RULES = {treatment: _rules(treatment) for treatment in ("face", "body", "eye-area", "scalp")}

EMERGENCY, URGENT, UNUSUAL, EXPECTED = Level.EMERGENCY, Level.URGENT, Level.UNUSUAL, Level.EXPECTED


def _report(symptoms: dict[str, str] | None = None, flags: tuple[str, ...] = ()) -> Report:
    return Report(
        {name: Severity.parse(severity) for name, severity in (symptoms or {}).items()},
        frozenset(flags),
    )


@dataclass(frozen=True)
class Case:
    """One row of the table: a report, what came before it, and the judgement it must get."""

    name: str
    hours: float
    symptoms: dict[str, str] | None
    level: Level
    reasons: list[str]  # "code:symptom-or-flag", highest level first
    _: KW_ONLY
    flags: tuple[str, ...] = ()
    previous: dict[str, str] | None = None
    rules: str = "face"


def _judge(case: Case) -> Assessment:
    previous = None if case.previous is None else _report(case.previous)
    return assess(_report(case.symptoms, case.flags), previous, case.hours, RULES[case.rules])


# Hours: 2 days (the peak, bumps), 3 days, 5 days, 7 days (pain and lumps on the body, late
# lumps), 10 days (body swelling), 14 days, 21 days (bruising by the eyes, bumps on the body),
# 28 days (nothing expected from then on)
H2D, H3D, H5D, H7D, H10D, H14D, H21D, H28D = 48, 72, 120, 168, 240, 336, 504, 672
JUST = 0.01
# the clinical review changed the level this row expected (docs/clinical.md#triage-rules)
REVIEW = "review: "

CASES = [
    # --- red flags, each at its configured level, whatever the day -----------------------------
    Case("breathing", 2, None, EMERGENCY, ["flag:breathing"], flags=("breathing",)),
    Case("faint", 20, None, EMERGENCY, ["flag:faint"], flags=("faint",)),
    Case("faint at the second wave", 10, None, EMERGENCY, ["flag:faint"], flags=("faint",)),
    Case("vision", 5, None, EMERGENCY, ["flag:vision"], flags=("vision",), rules="eye-area"),
    Case("hives alone", 1, None, URGENT, ["flag:hives"], flags=("hives",)),
    Case(
        "hives with breathing",
        1,
        None,
        EMERGENCY,
        ["flag:breathing", "flag:hives"],
        flags=("hives", "breathing"),
    ),
    Case(
        "hives with fainting",
        1,
        None,
        EMERGENCY,
        ["flag:faint", "flag:hives"],
        flags=("hives", "faint"),
    ),
    Case("fever", 40, None, URGENT, ["flag:fever"], flags=("fever",)),
    Case("fever alone weeks later", 600, None, URGENT, ["flag:fever"], flags=("fever",)),
    Case("pus", 100, None, URGENT, ["flag:pus"], flags=("pus",)),
    Case("spreading", 60, None, URGENT, ["flag:spreading"], flags=("spreading",)),
    Case("skin colour", 3, None, URGENT, ["flag:skin_colour"], flags=("skin_colour",)),
    Case("flag on the body", 30, None, EMERGENCY, ["flag:faint"], flags=("faint",), rules="body"),
    # a report stored before the split: judged at the higher level of faint and hives
    Case("legacy allergy", 20, None, EMERGENCY, ["flag:allergy"], flags=("allergy",)),
    Case(
        "legacy allergy with hives",
        20,
        None,
        EMERGENCY,
        ["flag:allergy", "flag:hives"],
        flags=("allergy", "hives"),
    ),
    # --- the usual course: within it expected, at its boundary expected, past it unusual -------
    Case("redness day 1", 20, {"redness": "mild"}, EXPECTED, []),
    Case("redness at 72h", H3D, {"redness": "moderate"}, EXPECTED, []),
    Case(
        "redness just past 72h", H3D + JUST, {"redness": "mild"}, UNUSUAL, ["past_course:redness"]
    ),
    Case("redness day 4", 80, {"redness": "mild"}, UNUSUAL, ["past_course:redness"]),
    Case("redness at none on day 9", 200, {"redness": "none"}, EXPECTED, []),
    Case("swelling at 72h", H3D, {"swelling": "moderate"}, EXPECTED, []),
    Case(
        "swelling just past 72h",
        H3D + JUST,
        {"swelling": "mild"},
        UNUSUAL,
        ["past_course:swelling"],
    ),
    Case("body swelling day 4", 100, {"swelling": "mild"}, EXPECTED, [], rules="body"),
    Case("body swelling at 120h", H5D, {"swelling": "moderate"}, EXPECTED, [], rules="body"),
    Case(
        REVIEW + "body swelling just past 120h",
        H5D + JUST,
        {"swelling": "mild"},
        EXPECTED,
        [],
        rules="body",
    ),
    Case(
        "body swelling improving on day 7",
        H7D,
        {"swelling": "mild"},
        EXPECTED,
        [],
        previous={"swelling": "moderate"},
        rules="body",
    ),
    Case("body swelling at 10 days", H10D, {"swelling": "mild"}, EXPECTED, [], rules="body"),
    Case(
        "body swelling just past 10 days",
        H10D + JUST,
        {"swelling": "mild"},
        UNUSUAL,
        ["past_course:swelling"],
        rules="body",
    ),
    Case(
        "body redness keeps 72h",
        H3D + JUST,
        {"redness": "mild"},
        UNUSUAL,
        ["past_course:redness"],
        rules="body",
    ),
    Case(
        "eye swelling keeps 72h",
        H3D + JUST,
        {"swelling": "mild"},
        UNUSUAL,
        ["past_course:swelling"],
        rules="eye-area",
    ),
    Case("bruising week 1", 150, {"bruising": "moderate"}, EXPECTED, []),
    Case("bruising at 14 days", H14D, {"bruising": "mild"}, EXPECTED, []),
    Case(
        "bruising just past 14 days",
        H14D + JUST,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
    ),
    Case("body bruising at 14 days", H14D, {"bruising": "mild"}, EXPECTED, [], rules="body"),
    Case(
        "body bruising just past 14 days",
        H14D + JUST,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
        rules="body",
    ),
    Case(
        "scalp bruising just past 14 days",
        H14D + JUST,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
        rules="scalp",
    ),
    Case(
        "eye bruising fading on day 10", H10D, {"bruising": "mild"}, EXPECTED, [], rules="eye-area"
    ),
    Case("eye bruising day 17", 400, {"bruising": "mild"}, EXPECTED, [], rules="eye-area"),
    Case("eye bruising at 21 days", H21D, {"bruising": "moderate"}, EXPECTED, [], rules="eye-area"),
    Case(
        "eye bruising just past 21 days",
        H21D + JUST,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
        rules="eye-area",
    ),
    Case("bumps day 1", 20, {"bumps": "mild"}, EXPECTED, []),
    Case("bumps at 48h", H2D, {"bumps": "mild"}, EXPECTED, []),
    Case("bumps just past 48h", H2D + JUST, {"bumps": "mild"}, UNUSUAL, ["past_course:bumps"]),
    Case("body bumps on day 10", H10D, {"bumps": "moderate"}, EXPECTED, [], rules="body"),
    Case("body bumps at 21 days", H21D, {"bumps": "mild"}, EXPECTED, [], rules="body"),
    Case(
        "body bumps just past 21 days",
        H21D + JUST,
        {"bumps": "mild"},
        UNUSUAL,
        ["past_course:bumps"],
        rules="body",
    ),
    Case("itching at 72h", H3D, {"itching": "moderate"}, EXPECTED, []),
    Case(
        "itching just past 72h", H3D + JUST, {"itching": "mild"}, UNUSUAL, ["past_course:itching"]
    ),
    Case("burning on day 0", 3, {"burning": "moderate"}, EXPECTED, []),
    Case(
        "burning just past 72h", H3D + JUST, {"burning": "mild"}, UNUSUAL, ["past_course:burning"]
    ),
    Case("pain at 72h", H3D, {"pain": "mild"}, EXPECTED, []),
    Case("pain just past 72h", H3D + JUST, {"pain": "moderate"}, UNUSUAL, ["past_course:pain"]),
    Case("body tenderness on day 5", H5D, {"pain": "mild"}, EXPECTED, [], rules="body"),
    Case("body tenderness at 7 days", H7D, {"pain": "mild"}, EXPECTED, [], rules="body"),
    Case(
        "body tenderness just past 7 days",
        H7D + JUST,
        {"pain": "mild"},
        UNUSUAL,
        ["past_course:pain"],
        rules="body",
    ),
    Case(
        "scalp redness day 4",
        80,
        {"redness": "mild"},
        UNUSUAL,
        ["past_course:redness"],
        rules="scalp",
    ),
    Case("right after the session", 0, {"redness": "moderate", "bumps": "moderate"}, EXPECTED, []),
    # --- severity: severe and very severe are unusual, severe pain is urgent --------------------
    Case(
        "moderate is not severe", 20, {"swelling": "moderate", "itching": "moderate"}, EXPECTED, []
    ),
    Case("severe redness", 20, {"redness": "severe"}, UNUSUAL, ["severe:redness"]),
    Case("very severe swelling", 20, {"swelling": "very_severe"}, UNUSUAL, ["severe:swelling"]),
    Case(
        "severe bruising by the eyes",
        30,
        {"bruising": "severe"},
        UNUSUAL,
        ["severe:bruising"],
        rules="eye-area",
    ),
    Case("severe itching", 10, {"itching": "severe"}, UNUSUAL, ["severe:itching"]),
    Case("moderate pain", 20, {"pain": "moderate"}, EXPECTED, []),
    Case("severe pain", 20, {"pain": "severe"}, URGENT, ["urgent_severe:pain"]),
    Case(
        "very severe pain",
        20,
        {"pain": "very_severe"},
        URGENT,
        ["urgent_severe:pain"],
        rules="body",
    ),
    # --- worse than at the previous report: not inside the 48-hour peak -------------------------
    Case("first check-in", 20, {"swelling": "moderate"}, EXPECTED, [], previous=None),
    Case(
        "one level worse", 40, {"swelling": "moderate"}, EXPECTED, [], previous={"swelling": "mild"}
    ),
    Case(
        REVIEW + "two levels worse inside the peak",
        40,
        {"swelling": "moderate"},
        EXPECTED,
        [],
        previous={"swelling": "none"},
    ),
    Case(
        REVIEW + "two levels worse than an absent symptom inside the peak",
        40,
        {"itching": "moderate"},
        EXPECTED,
        [],
        previous={"redness": "mild"},
    ),
    Case(
        REVIEW + "worse than an empty report inside the peak",
        40,
        {"burning": "moderate"},
        EXPECTED,
        [],
        previous={},
    ),
    Case(
        "two levels worse and severe inside the peak",
        40,
        {"redness": "very_severe"},
        UNUSUAL,
        ["severe:redness"],
        previous={"redness": "moderate"},
    ),
    Case(
        "pain two levels worse inside the peak",
        40,
        {"pain": "severe"},
        URGENT,
        ["urgent_severe:pain"],
        previous={"pain": "mild"},
    ),
    Case(
        "two levels worse at 48h",
        H2D,
        {"swelling": "moderate"},
        EXPECTED,
        [],
        previous={"swelling": "none"},
    ),
    Case(
        "two levels worse just past 48h",
        H2D + JUST,
        {"swelling": "moderate"},
        UNUSUAL,
        ["worse:swelling"],
        previous={"swelling": "none"},
    ),
    Case(
        "two levels worse than an absent symptom on day 2",
        60,
        {"itching": "moderate"},
        UNUSUAL,
        ["worse:itching"],
        previous={"redness": "mild"},
    ),
    Case(
        "swelling one level worse on day 2",
        60,
        {"swelling": "moderate"},
        EXPECTED,
        [],
        previous={"swelling": "mild"},
    ),
    Case(
        "bruising worse and severe",
        100,
        {"bruising": "severe"},
        UNUSUAL,
        ["severe:bruising", "worse:bruising"],
        previous={"bruising": "mild"},
    ),
    Case(
        "body swelling worse on day 4",
        100,
        {"swelling": "severe"},
        UNUSUAL,
        ["severe:swelling", "worse:swelling"],
        previous={"swelling": "mild"},
        rules="body",
    ),
    Case("better", 40, {"redness": "mild"}, EXPECTED, [], previous={"redness": "severe"}),
    Case("gone", 40, None, EXPECTED, [], previous={"redness": "very_severe"}),
    # --- redness, warmth or pain still increasing after day 2: urgent ---------------------------
    Case(
        "redness rising at 48h",
        H2D,
        {"redness": "moderate"},
        EXPECTED,
        [],
        previous={"redness": "mild"},
    ),
    Case(
        "redness rising just past 48h",
        H2D + JUST,
        {"redness": "moderate"},
        URGENT,
        ["rising:redness"],
        previous={"redness": "mild"},
    ),
    Case(
        "new redness on day 2",
        60,
        {"redness": "mild"},
        URGENT,
        ["rising:redness"],
        previous={},
    ),
    Case(
        "pain rising on day 2",
        60,
        {"pain": "moderate"},
        URGENT,
        ["rising:pain"],
        previous={"pain": "mild"},
    ),
    Case(
        "warmth rising on day 2",
        50,
        {"burning": "moderate"},
        URGENT,
        ["rising:burning"],
        previous={"burning": "mild"},
    ),
    Case(
        "redness the same on day 2",
        60,
        {"redness": "moderate"},
        EXPECTED,
        [],
        previous={"redness": "moderate"},
    ),
    Case(
        "redness settling on day 2",
        60,
        {"redness": "mild"},
        EXPECTED,
        [],
        previous={"redness": "moderate"},
    ),
    Case("redness on day 2 with no report before", 60, {"redness": "moderate"}, EXPECTED, []),
    Case(
        "redness rising to very severe",
        60,
        {"redness": "very_severe"},
        URGENT,
        ["rising:redness", "severe:redness"],
        previous={"redness": "mild"},
    ),
    Case(
        "pain rising to severe",
        60,
        {"pain": "severe"},
        URGENT,
        ["urgent_severe:pain", "rising:pain"],
        previous={"pain": "mild"},
    ),
    Case(
        "redness rising past its course",
        80,
        {"redness": "moderate"},
        URGENT,
        ["rising:redness", "past_course:redness"],
        previous={"redness": "mild"},
    ),
    Case(
        "body pain rising on day 4",
        100,
        {"pain": "moderate"},
        URGENT,
        ["rising:pain"],
        previous={"pain": "mild"},
        rules="body",
    ),
    Case(
        "itching rising by one on day 2",
        60,
        {"itching": "moderate"},
        EXPECTED,
        [],
        previous={"itching": "mild"},
    ),
    # --- very severe swelling with itching in the first 6 hours: angioedema may be starting ----
    Case(
        "itchy very severe swelling",
        2,
        {"swelling": "very_severe", "itching": "mild"},
        URGENT,
        ["angioedema:swelling", "severe:swelling"],
    ),
    Case(
        "itchy very severe swelling at 6h",
        6,
        {"swelling": "very_severe", "itching": "moderate"},
        URGENT,
        ["angioedema:swelling", "severe:swelling"],
    ),
    Case(
        "itchy very severe swelling just past 6h",
        6 + JUST,
        {"swelling": "very_severe", "itching": "mild"},
        UNUSUAL,
        ["severe:swelling"],
    ),
    Case(
        "itchy severe swelling",
        2,
        {"swelling": "severe", "itching": "mild"},
        UNUSUAL,
        ["severe:swelling"],
    ),
    Case(
        "very severe swelling without itching",
        2,
        {"swelling": "very_severe"},
        UNUSUAL,
        ["severe:swelling"],
    ),
    Case(
        "very severe swelling and severe itching",
        3,
        {"swelling": "very_severe", "itching": "severe"},
        URGENT,
        ["angioedema:swelling", "severe:swelling", "severe:itching"],
    ),
    Case(
        "itchy very severe swelling by the eyes",
        1,
        {"swelling": "very_severe", "itching": "mild"},
        URGENT,
        ["angioedema:swelling", "severe:swelling"],
        rules="eye-area",
    ),
    # --- darkening: with pain in the first day urgent, otherwise unusual ------------------------
    Case(
        "darkening with pain on day 0",
        10,
        {"darkening": "mild", "pain": "mild"},
        URGENT,
        ["blood_flow:darkening"],
    ),
    Case(
        "darkening with pain at 24h",
        24,
        {"darkening": "moderate", "pain": "mild"},
        URGENT,
        ["blood_flow:darkening"],
    ),
    Case(
        "darkening with pain just past 24h",
        24 + JUST,
        {"darkening": "mild", "pain": "mild"},
        UNUSUAL,
        ["darkening:darkening"],
    ),
    Case(
        "darkening with severe pain",
        5,
        {"darkening": "moderate", "pain": "severe"},
        URGENT,
        ["urgent_severe:pain", "blood_flow:darkening"],
    ),
    Case("pain without darkening on day 0", 10, {"pain": "mild"}, EXPECTED, []),
    Case("darkening mild", 20, {"darkening": "mild"}, UNUSUAL, ["darkening:darkening"]),
    Case("darkening late", 600, {"darkening": "moderate"}, UNUSUAL, ["darkening:darkening"]),
    Case("darkening none", 20, {"darkening": "none"}, EXPECTED, []),
    # --- lumps and sores: late ones name the mycobacterial infection ----------------------------
    Case("lump on day 3", H3D, {"lump": "mild"}, UNUSUAL, ["not_usual:lump"]),
    Case("lump at 7 days", H7D, {"lump": "mild"}, UNUSUAL, ["not_usual:lump"]),
    Case("lump just past 7 days", H7D + JUST, {"lump": "mild"}, UNUSUAL, ["mycobacteria:lump"]),
    Case("lump at three weeks", H21D, {"lump": "moderate"}, UNUSUAL, ["mycobacteria:lump"]),
    Case(
        "painful lump on day 3",
        H3D,
        {"lump": "mild", "pain": "mild"},
        URGENT,
        ["with_pain:lump"],
    ),
    Case(
        "painful lump at 7 days",
        H7D,
        {"lump": "moderate", "pain": "mild"},
        URGENT,
        ["with_pain:lump", "past_course:pain"],
    ),
    Case(
        "painful lump just past 7 days",
        H7D + JUST,
        {"lump": "mild", "pain": "mild"},
        URGENT,
        ["mycobacteria_with_pain:lump", "past_course:pain"],
    ),
    Case(
        "painful lump on the body on day 5",
        H5D,
        {"lump": "mild", "pain": "mild"},
        URGENT,
        ["with_pain:lump"],
        rules="body",
    ),
    Case(
        "painful lump on the body at three weeks",
        H21D,
        {"lump": "moderate", "pain": "moderate"},
        URGENT,
        ["mycobacteria_with_pain:lump", "past_course:pain"],
        rules="body",
    ),
    Case("sore on day 2", H2D, {"sore": "mild"}, URGENT, ["not_usual:sore"]),
    Case("sore at 7 days", H7D, {"sore": "mild"}, URGENT, ["not_usual:sore"]),
    Case("sore just past 7 days", H7D + JUST, {"sore": "mild"}, URGENT, ["mycobacteria:sore"]),
    Case(
        "lump and leaking sore at three weeks",
        H21D,
        {"lump": "mild", "sore": "mild"},
        URGENT,
        ["mycobacteria:sore", "mycobacteria:lump"],
    ),
    Case("sore at six weeks", 1008, {"sore": "moderate"}, URGENT, ["mycobacteria:sore"]),
    Case(
        "lump at twelve weeks on the body",
        2016,
        {"lump": "mild"},
        UNUSUAL,
        ["mycobacteria:lump"],
        rules="body",
    ),
    Case(
        "lump with pus",
        800,
        {"lump": "mild"},
        URGENT,
        ["flag:pus", "mycobacteria:lump"],
        flags=("pus",),
    ),
    # --- nothing is expected four weeks after a session -----------------------------------------
    Case("other mild just before 28 days", H28D - JUST, {"other": "mild"}, EXPECTED, []),
    Case("other mild at 28 days", H28D, {"other": "mild"}, UNUSUAL, ["late:other"]),
    Case(REVIEW + "other mild has no course", 1000, {"other": "mild"}, UNUSUAL, ["late:other"]),
    Case(
        "redness at 28 days is past its course once",
        H28D,
        {"redness": "mild"},
        UNUSUAL,
        ["past_course:redness"],
    ),
    Case(
        "eye bruising at 28 days",
        H28D,
        {"bruising": "mild"},
        UNUSUAL,
        ["past_course:bruising"],
        rules="eye-area",
    ),
    Case("darkening at 28 days", H28D, {"darkening": "mild"}, UNUSUAL, ["darkening:darkening"]),
    # --- "something else" from moderate ---------------------------------------------------------
    Case("other mild", 20, {"other": "mild"}, EXPECTED, []),
    Case("other moderate", 20, {"other": "moderate"}, UNUSUAL, ["other:other"]),
    Case("other severe", 20, {"other": "severe"}, UNUSUAL, ["severe:other", "other:other"]),
    # --- together: the highest level wins, and every reason is listed ---------------------------
    Case(
        "fever with severe redness",
        50,
        {"redness": "severe"},
        URGENT,
        ["flag:fever", "severe:redness"],
        flags=("fever",),
    ),
    Case(
        "breathing, severe pain, lasting redness",
        80,
        {"redness": "mild", "pain": "severe"},
        EMERGENCY,
        ["flag:breathing", "urgent_severe:pain", "past_course:redness", "past_course:pain"],
        flags=("breathing",),
    ),
    Case(
        "two flags at two levels",
        30,
        None,
        EMERGENCY,
        ["flag:vision", "flag:fever"],
        flags=("fever", "vision"),
    ),
    Case(
        "every flag",
        30,
        None,
        EMERGENCY,
        [f"flag:{flag}" for flag in ("breathing", "faint", "vision")]
        + [f"flag:{flag}" for flag in ("hives", "fever", "pus", "spreading", "skin_colour")],
        flags=FLAGS,
    ),
    Case(
        "lasting redness and swelling, bruising still expected",
        80,
        {"redness": "mild", "swelling": "mild", "bruising": "moderate"},
        UNUSUAL,
        ["past_course:redness", "past_course:swelling"],
    ),
    Case(
        "darkening with expected redness",
        20,
        {"redness": "moderate", "darkening": "mild"},
        UNUSUAL,
        ["darkening:darkening"],
    ),
    # --- nothing to report ----------------------------------------------------------------------
    Case("all good", 20, None, EXPECTED, []),
    Case("all good weeks later", 1000, None, EXPECTED, [], previous={"pain": "mild"}),
    Case("all good at 28 days", H28D, None, EXPECTED, []),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_report_gets_the_level_and_reasons_of_clinical_md(case: Case) -> None:
    assessment = _judge(case)

    assert assessment.level is case.level
    assert [f"{r.code}:{r.symptom or r.flag}" for r in assessment.reasons] == case.reasons
    levels = [reason.level for reason in assessment.reasons]
    assert levels == sorted(levels, reverse=True)
    assert assessment.level == max(levels, default=Level.EXPECTED)


def test_the_table_covers_every_symptom_flag_level_and_rule() -> None:
    assert len(CASES) >= 100
    assert len({case.name for case in CASES}) == len(CASES)
    reasons = [reason for case in CASES for reason in case.reasons]
    assert {case.level for case in CASES} == set(Level)
    assert {f"flag:{flag}" for flag in (*FLAGS, *LEGACY_FLAGS)} <= set(reasons)
    for symptom in ("redness", "swelling", "bruising", "bumps", "itching", "burning", "pain"):
        assert f"past_course:{symptom}" in reasons
    for symptom in ("redness", "burning", "pain"):
        assert f"rising:{symptom}" in reasons
    for code in ("severe", "urgent_severe", "worse", "late", *RULE_MESSAGES):
        assert any(reason.startswith(f"{code}:") for reason in reasons), code
    for rule in DEFAULT_SYMPTOM_RULES:
        assert f"{rule.reason}:{rule.symptom}" in reasons, rule
    assert {case.rules for case in CASES} == set(RULES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_reason_reads_as_plain_english_naming_the_symptom(case: Case) -> None:
    for reason in _judge(case).reasons:
        text = reason.text()

        assert "{" not in text and "_" not in text, text
        if reason.symptom is not None:
            assert reason.symptom in text
            assert reason.flag is None
        else:
            assert reason.code == "flag" and reason.flag in (*FLAGS, *LEGACY_FLAGS)


def test_a_very_severe_symptom_reads_with_a_space() -> None:
    (reason,) = assess(_report({"swelling": "very_severe"}), None, 20, RULES["face"]).reasons

    assert reason.params == {"severity": "very_severe"}
    assert reason.text() == "swelling is very severe"


def test_a_worse_symptom_names_both_severities() -> None:
    (reason,) = assess(_report({"itching": "moderate"}), _report({}), 60, RULES["face"]).reasons

    assert reason.params == {"previous": "none", "severity": "moderate"}
    assert reason.text() == "itching is worse than at the last check-in (none → moderate)"


def test_hours_past_the_course_are_rounded_down() -> None:
    (reason,) = assess(_report({"redness": "mild"}), None, 80.99, RULES["face"]).reasons

    assert reason.params == {"hours": "80", "course_hours": "72"}
    assert reason.text() == (
        "redness is still present 80 hours after the session (usually gone within 72 hours)"
    )


def test_a_flag_reason_says_what_was_reported() -> None:
    (reason,) = assess(_report(flags=("breathing",)), None, 1, RULES["face"]).reasons

    assert reason.params == {}
    assert "breathing" in reason.text() and "throat" in reason.text()


def _marked_templates() -> list[str]:
    """Every N_("...") in triage.py, read from the source the way pybabel reads it."""
    tree = ast.parse(Path(triage.__file__).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_":
            (argument,) = node.args
            assert isinstance(argument, ast.Constant) and isinstance(argument.value, str)
            found.append(argument.value)
    return found


def test_templates_use_only_the_placeholders_the_translations_know() -> None:
    allowed = {"symptom", "severity", "previous", "hours", "course_hours", "days"}
    templates = _marked_templates()

    assert len(templates) >= len(FLAGS) + 5
    for template in templates:
        fields = {field for _, field, _, _ in string.Formatter().parse(template) if field}
        assert fields <= allowed, template


def test_every_message_given_is_a_marked_template() -> None:
    templates = set(_marked_templates())
    messages = {reason.message for case in CASES for reason in _judge(case).reasons}

    assert messages <= templates
    assert set(RULE_MESSAGES.values()) <= messages
    flag_reports = [Report({}, frozenset({flag})) for flag in (*FLAGS, *LEGACY_FLAGS)]
    flag_messages = {
        reason.message
        for report in flag_reports
        for reason in assess(report, None, 1, RULES["face"]).reasons
    }
    assert len(flag_messages) == len(FLAGS) + len(LEGACY_FLAGS)


def test_a_reason_about_a_late_lump_or_sore_names_the_infection_to_rule_out() -> None:
    report = _report({"lump": "mild", "sore": "moderate", "pain": "mild"})

    reasons = assess(report, None, H21D, RULES["face"]).reasons

    late = [reason for reason in reasons if reason.symptom in ("lump", "sore")]
    assert [reason.code for reason in late] == ["mycobacteria_with_pain", "mycobacteria"]
    for reason in late:
        assert "atypical (non-tuberculous) mycobacterial infection" in reason.text()
        assert "on day 21 after the session" in reason.text()
    assert late[1].text() == (
        "sore (moderate) on day 21 after the session: "
        "an atypical (non-tuberculous) mycobacterial infection must be ruled out"
    )


def test_a_rising_symptom_names_the_hours_and_both_severities() -> None:
    (reason,) = assess(
        _report({"pain": "moderate"}), _report({"pain": "mild"}), 60.7, RULES["face"]
    ).reasons

    assert reason.params == {"previous": "mild", "severity": "moderate", "hours": "60"}
    assert reason.text() == "pain is still increasing 60 hours after the session (mild → moderate)"


def test_a_symptom_four_weeks_on_says_nothing_is_expected_then() -> None:
    (reason,) = assess(_report({"other": "mild"}), None, 700, RULES["face"]).reasons

    assert reason.text() == (
        "other (mild) on day 29 after the session: nothing is expected this long after a session"
    )


def test_the_rules_are_data_a_clinic_can_change() -> None:
    strict = TriageRules(
        usual_course={"redness": dt.timedelta(hours=24)},
        flag_levels=dict.fromkeys(FLAGS, Level.URGENT),
        worsening_levels=1,
        severe=Severity.MODERATE,
        urgent_when_severe=frozenset({"swelling"}),
        worsening_after=dt.timedelta(0),
    )
    report = _report({"redness": "mild", "swelling": "moderate", "pain": "severe"}, ("vision",))

    assessment = assess(report, _report({"redness": "none"}), 30, strict)

    assert assessment.level is URGENT
    assert [f"{r.code}:{r.symptom or r.flag}" for r in assessment.reasons] == [
        "flag:vision",
        "urgent_severe:swelling",
        "worse:redness",
        "past_course:redness",
        "worse:swelling",
        "severe:pain",
        "worse:pain",
    ]


def test_every_shipped_protocol_has_the_same_flags_and_thresholds() -> None:
    for rules in RULES.values():
        assert rules.flag_levels == RULES["face"].flag_levels
        assert (rules.worsening_levels, rules.severe) == (2, Severity.SEVERE)
        assert rules.urgent_when_severe == {"pain"}
        assert set(rules.usual_course) == set(SYMPTOMS) - {"darkening", "lump", "sore", "other"}
        assert rules.symptom_rules == DEFAULT_SYMPTOM_RULES
    assert RULES["scalp"] == RULES["face"]


@pytest.mark.parametrize("severity", list(Severity))
def test_a_severity_parses_from_its_name(severity: Severity) -> None:
    assert Severity.parse(severity.name_key) is severity


@pytest.mark.parametrize("level", list(Level))
def test_a_level_parses_from_its_name(level: Level) -> None:
    assert Level.parse(level.name_key) is level


def test_names_are_lowercase_with_underscores() -> None:
    assert [s.name_key for s in Severity] == ["none", "mild", "moderate", "severe", "very_severe"]
    assert [lv.name_key for lv in Level] == ["expected", "unusual", "urgent", "emergency"]


@pytest.mark.parametrize("text", ["Severe", "very severe", "", "3", "worst"])
def test_an_unknown_severity_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a severity; known: none, mild"):
        Severity.parse(text)


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="not a level; known: expected"):
        Level.parse("critical")


def test_a_report_with_an_unknown_symptom_or_flag_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown symptom 'rash'"):
        Report({"rash": Severity.MILD})
    with pytest.raises(ValueError, match="unknown flag 'nausea'"):
        Report({}, frozenset({"nausea"}))


def test_a_report_needs_severities_not_numbers() -> None:
    with pytest.raises(ValueError, match="needs a Severity"):
        Report({"redness": 2})  # type: ignore[dict-item]


def test_a_report_does_not_change_when_its_dict_does() -> None:
    symptoms = {"redness": Severity.MILD}
    report = Report(symptoms)
    symptoms["redness"] = Severity.VERY_SEVERE

    assert report.severity("redness") is Severity.MILD
    assert report.severity("pain") is Severity.NONE


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"flag_levels": {}}, "no level for: breathing"),
        ({"flag_levels": dict.fromkeys(FLAGS, Level.EXPECTED)}, "at least unusual"),
        ({"usual_course": {"rash": dt.timedelta(days=1)}}, "unknown symptom 'rash'"),
        ({"usual_course": {"redness": dt.timedelta(0)}}, "positive number of hours"),
        ({"usual_course": {"redness": dt.timedelta(minutes=90)}}, "number of hours"),
        ({"urgent_when_severe": frozenset({"fever"})}, "unknown symptom 'fever'"),
        ({"worsening_levels": 0}, "1 to 4"),
        ({"severe": Severity.NONE}, "mild or above"),
        ({"urgent_when_rising": frozenset({"warmth"})}, "unknown symptom 'warmth'"),
        ({"worsening_after": dt.timedelta(hours=-1)}, "worsening_after must be zero or more"),
        ({"urgent_when_rising_after": dt.timedelta(hours=-1)}, "zero or more"),
        ({"nothing_expected_from": dt.timedelta(0)}, "longer than zero"),
        (
            {"usual_course": {"bruising": dt.timedelta(days=28)}},
            "'bruising' must end before nothing_expected_from",
        ),
    ],
)
def test_rules_built_in_code_are_checked_too(changes: dict[str, object], words: str) -> None:
    fields: dict[str, object] = {
        "usual_course": {},
        "flag_levels": dict.fromkeys(FLAGS, Level.URGENT),
        **changes,
    }
    with pytest.raises(ValueError, match=words):
        TriageRules(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("hours", [-0.5, float("nan"), float("inf")])
def test_hours_before_the_session_are_refused(hours: float) -> None:
    with pytest.raises(ValueError, match="hours_since"):
        assess(_report(), None, hours, RULES["face"])


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"reason": "infection"}, "'infection' is not a rule reason; known: darkening"),
        ({"symptoms": {}}, "at least one symptom"),
        ({"symptoms": {"rash": Severity.MILD}}, "unknown symptom 'rash'"),
        ({"symptoms": {"lump": Severity.NONE}}, "mild or above"),
        ({"level": Level.EXPECTED}, "at least unusual"),
        ({"after": dt.timedelta(hours=-1)}, "zero or more"),
        ({"within": dt.timedelta(0)}, "longer than its `after`"),
        ({"after": dt.timedelta(days=7), "within": dt.timedelta(days=7)}, "longer than"),
    ],
)
def test_symptom_rules_built_in_code_are_checked_too(
    changes: dict[str, object], words: str
) -> None:
    fields: dict[str, object] = {
        "reason": "not_usual",
        "level": Level.UNUSUAL,
        "symptoms": {"lump": Severity.MILD},
        **changes,
    }
    with pytest.raises(ValueError, match=words):
        SymptomRule(**fields)  # type: ignore[arg-type]


def test_a_rule_counts_inside_its_time_range_only() -> None:
    late = SymptomRule(
        "mycobacteria",
        Level.URGENT,
        {"lump": Severity.MODERATE, "pain": Severity.MILD},
        after=dt.timedelta(days=7),
        within=dt.timedelta(days=84),
    )
    report = _report({"lump": "moderate", "pain": "mild"})

    assert late.symptom == "lump"
    assert [late.matches(report, hours) for hours in (H7D, H7D + JUST, 2016, 2016 + JUST)] == [
        False,
        True,
        True,
        False,
    ]
    assert not late.matches(_report({"lump": "mild", "pain": "severe"}), 500)
    assert not late.matches(_report({"lump": "severe"}), 500)


def test_only_the_first_matching_rule_of_a_symptom_counts() -> None:
    general_first = TriageRules(
        usual_course={},
        flag_levels=dict.fromkeys(FLAGS, Level.URGENT),
        symptom_rules=(
            SymptomRule("darkening", Level.UNUSUAL, {"darkening": Severity.MILD}),
            SymptomRule(
                "blood_flow",
                Level.URGENT,
                {"darkening": Severity.MILD, "pain": Severity.MILD},
                within=dt.timedelta(days=1),
            ),
        ),
    )
    report = _report({"darkening": "mild", "pain": "mild"})

    assert assess(report, None, 5, general_first).level is UNUSUAL
    assert assess(report, None, 5, RULES["face"]).level is URGENT


@pytest.mark.parametrize(
    ("treatment", "symptom", "hours", "within"),
    [
        ("face", "redness", 0, True),
        ("face", "redness", H3D, True),
        ("face", "redness", H3D + JUST, False),
        ("face", "bumps", H2D, True),
        ("face", "bumps", H2D + JUST, False),
        ("face", "bruising", H14D, True),
        ("face", "bruising", H14D + JUST, False),
        ("eye-area", "bruising", H21D, True),
        ("eye-area", "bruising", H21D + JUST, False),
        ("body", "swelling", H10D, True),
        ("body", "swelling", H10D + JUST, False),
        ("body", "pain", H7D, True),
        ("body", "pain", H7D + JUST, False),
        ("body", "bumps", H21D, True),
        ("body", "bumps", H21D + JUST, False),
        ("scalp", "itching", 30, True),
        # never part of the usual course
        ("face", "darkening", 1, False),
        ("face", "lump", 1, False),
        ("face", "sore", 1, False),
        ("face", "other", 1, False),
    ],
)
def test_within_usual_course_says_when_advice_may_call_a_symptom_expected(
    treatment: str, symptom: str, hours: float, within: bool
) -> None:
    assert within_usual_course(RULES[treatment], symptom, hours) is within


def test_nothing_is_within_its_usual_course_four_weeks_on() -> None:
    rules = TriageRules(
        usual_course={"bruising": dt.timedelta(days=27)},
        flag_levels=dict.fromkeys(FLAGS, Level.URGENT),
        nothing_expected_from=dt.timedelta(days=27, hours=1),
    )

    assert within_usual_course(rules, "bruising", 27 * 24)
    assert not within_usual_course(rules, "bruising", 27 * 24 + 1)


def test_a_stored_report_with_the_old_allergy_flag_is_judged_at_its_highest_part() -> None:
    levels = dict.fromkeys(FLAGS, Level.UNUSUAL) | {"hives": Level.URGENT}
    rules = TriageRules(usual_course={}, flag_levels=levels)

    (reason,) = assess(Report({}, frozenset({"allergy"})), None, 20, rules).reasons

    assert (reason.code, reason.flag, reason.level) == ("flag", "allergy", URGENT)
    assert reason.text() == "hives (an itchy rash) over the body, or feeling faint"
    assert LEGACY_FLAGS == {"allergy": ("faint", "hives")}
    assert "allergy" not in FLAGS


def test_every_symptom_and_flag_has_words_for_patients_and_staff() -> None:
    assert set(SYMPTOM_LABELS) == set(SYMPTOMS)
    assert list(FLAG_LABELS)[: len(FLAGS)] == list(FLAGS)
    assert list(FLAG_DESCRIPTIONS)[: len(FLAGS)] == list(FLAGS)
    # stored reports may still name the old flag
    assert set(FLAG_LABELS) == set(FLAG_DESCRIPTIONS) == {*FLAGS, *LEGACY_FLAGS}


def test_a_reason_without_params_is_its_message() -> None:
    reason = Reason("flag", Level.URGENT, "fever or chills", flag="fever")

    assert reason.text() == "fever or chills"
