"""The check-in's state machine as a table: the answers before, one press, the answers after
(or why nothing moved)."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from bot.domain.checkin import (
    AllGood,
    Answers,
    CheckinStage,
    Event,
    FlagsDone,
    HasSymptoms,
    NoFlags,
    Rate,
    Refusal,
    SkipNote,
    SymptomsDone,
    ToggleFlag,
    ToggleSymptom,
    advance,
)
from bot.domain.triage import FLAGS, SYMPTOMS

S = CheckinStage


def at(
    stage: CheckinStage,
    symptoms: tuple[str, ...] = (),
    severities: dict[str, int] | None = None,
    flags: tuple[str, ...] = (),
) -> Answers:
    return Answers(stage, symptoms, MappingProxyType(severities or {}), flags)


@pytest.mark.parametrize(
    ("before", "event", "after"),
    [
        # the first question: one tap for all good, or on to the danger signs first
        (at(S.OVERALL), AllGood(), at(S.DONE)),
        (at(S.OVERALL), HasSymptoms(), at(S.FLAGS)),
        # symptoms toggle on and off, in the order chosen
        (at(S.SYMPTOMS), ToggleSymptom(SYMPTOMS[0]), at(S.SYMPTOMS, (SYMPTOMS[0],))),
        (
            at(S.SYMPTOMS, (SYMPTOMS[1],)),
            ToggleSymptom(SYMPTOMS[0]),
            at(S.SYMPTOMS, (SYMPTOMS[1], SYMPTOMS[0])),
        ),
        (
            at(S.SYMPTOMS, (SYMPTOMS[0], SYMPTOMS[1])),
            ToggleSymptom(SYMPTOMS[0]),
            at(S.SYMPTOMS, (SYMPTOMS[1],)),
        ),
        (at(S.SYMPTOMS, ("redness",)), SymptomsDone(), at(S.SEVERITY, ("redness",))),
        # no skin symptom is an answer: a danger sign alone is a whole report
        (at(S.SYMPTOMS), SymptomsDone(), at(S.NOTE)),
        (
            at(S.SYMPTOMS, flags=(FLAGS[0],)),
            SymptomsDone(),
            at(S.NOTE, flags=(FLAGS[0],)),
        ),
        # one strength a symptom, in order; the last one moves on to the note
        (
            at(S.SEVERITY, ("redness", "swelling")),
            Rate(2),
            at(S.SEVERITY, ("redness", "swelling"), {"redness": 2}),
        ),
        (
            at(S.SEVERITY, ("redness", "swelling"), {"redness": 2}),
            Rate(0),
            at(S.NOTE, ("redness", "swelling"), {"redness": 2, "swelling": 0}),
        ),
        (at(S.SEVERITY, ("pain",)), Rate(4), at(S.NOTE, ("pain",), {"pain": 4})),
        # danger signs toggle; "none of these" clears them; both move on to the skin symptoms
        (at(S.FLAGS), ToggleFlag(FLAGS[3]), at(S.FLAGS, flags=(FLAGS[3],))),
        (at(S.FLAGS, flags=(FLAGS[3],)), ToggleFlag(FLAGS[3]), at(S.FLAGS)),
        (at(S.FLAGS, flags=(FLAGS[0],)), FlagsDone(), at(S.SYMPTOMS, flags=(FLAGS[0],))),
        (at(S.FLAGS, flags=(FLAGS[0],)), NoFlags(), at(S.SYMPTOMS)),
        (at(S.FLAGS), FlagsDone(), at(S.SYMPTOMS)),
        (at(S.NOTE), SkipNote(), at(S.DONE)),
    ],
)
def test_a_press_moves_the_answers_on(before: Answers, event: Event, after: Answers) -> None:
    assert advance(before, event) == after


@pytest.mark.parametrize(
    ("before", "event", "refusal"),
    [
        # a press for a question already answered (an old message's button)
        (at(S.SYMPTOMS), AllGood(), Refusal.ANSWERED),
        (at(S.FLAGS), ToggleSymptom(SYMPTOMS[0]), Refusal.ANSWERED),
        (at(S.SYMPTOMS), NoFlags(), Refusal.ANSWERED),
        (at(S.DONE), SkipNote(), Refusal.ANSWERED),
        (at(S.NOTE), NoFlags(), Refusal.ANSWERED),
        # choices that do not exist
        (at(S.SYMPTOMS), ToggleSymptom("freckles"), Refusal.STALE),
        (at(S.FLAGS), ToggleFlag("sneezing"), Refusal.STALE),
        (at(S.SEVERITY, ("pain",)), Rate(5), Refusal.STALE),
        (at(S.SEVERITY, ("pain",)), Rate(-1), Refusal.STALE),
        # every chosen symptom already rated: nothing left to rate
        (at(S.SEVERITY, ("pain",), {"pain": 1}), Rate(1), Refusal.STALE),
    ],
)
def test_a_refused_press_says_why(before: Answers, event: Event, refusal: Refusal) -> None:
    assert advance(before, event) is refusal


def test_added_flags_are_the_new_danger_signs_only() -> None:
    before = at(S.FLAGS, flags=(FLAGS[0],))
    after = advance(before, ToggleFlag(FLAGS[3]))
    assert isinstance(after, Answers) and after.added_flags(before) == (FLAGS[3],)
    removed = advance(after, ToggleFlag(FLAGS[3]))
    assert isinstance(removed, Answers) and removed.added_flags(after) == ()


def test_the_answers_before_a_press_are_never_changed() -> None:
    before = at(S.SEVERITY, ("redness",))
    advance(before, Rate(3))
    assert before == at(S.SEVERITY, ("redness",)) and dict(before.severities) == {}
