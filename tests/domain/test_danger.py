"""The danger-word matcher: the phrase syntax, what a match forgives, the negation rule and the
highest level winning (docs/clinical.md#danger-words), on small files written here."""

import json

import pytest

from bot.domain.danger import (
    FUZZY_ONE_FROM,
    FUZZY_TWO_FROM,
    GAP_WORDS,
    NEGATION_WINDOW,
    SIGNS,
    DangerMatcher,
    DangerWordsError,
    PhraseFile,
    Word,
    fold,
    parse_phrase,
    parse_phrase_file,
)
from bot.domain.triage import Level

EMERGENCY, URGENT = Level.EMERGENCY, Level.URGENT
_EMERGENCY_SIGNS = ("breathing", "faint", "vision")


def phrase_file(
    language: str = "en",
    *,
    negations: tuple[str, ...] = ("no", "not", "don't", "never"),
    clause_breaks: tuple[str, ...] = ("but",),
    prefixes: tuple[str, ...] = (),
    **phrases: list[str],
) -> PhraseFile:
    """A complete file: the signs given here with their phrases, every other sign with a
    placeholder nobody writes."""
    lines = [
        f"negations = {json.dumps(negations, ensure_ascii=False)}",
        f"clause_breaks = {json.dumps(clause_breaks, ensure_ascii=False)}",
        f"prefixes = {json.dumps(prefixes, ensure_ascii=False)}",
    ]
    for number, sign in enumerate(SIGNS):
        level = "emergency" if sign in _EMERGENCY_SIGNS else "urgent"
        listed = phrases.get(sign, [f"qq{number} zz{number}"])
        lines += [f"[{sign}]", f'level = "{level}"', f"phrases = {json.dumps(listed)}"]
    return parse_phrase_file("\n".join(lines), f"{language}.toml", language)


def matcher(**phrases: list[str]) -> DangerMatcher:
    return DangerMatcher([phrase_file(**phrases)])


def signs(found_in: DangerMatcher, text: str, language: str = "en") -> tuple[str, ...]:
    found = found_in.match(text, language)
    return found.signs if found else ()


# --- folding -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("FIÈVRE", "fievre"),
        ("Hinchazón", "hinchazon"),
        ("œil", "oeil"),
        ("Отёк", "отек"),
        ("Йод", "иод"),  # й and и alike, in the phrase and in the message
        ("أَلَمٌ", "الم"),  # harakat
        ("إغماء", "اغماء"),  # hamza under alef
        ("آلام", "الام"),  # madda
        ("حرارة", "حراره"),  # ta marbuta
        ("حمى", "حمي"),  # alef maqsura
        ("مـــرة", "مره"),  # tatweel
        ("٣٩", "39"),  # Arabic-Indic digits
        ("can’t", "can't"),
        ("can`t", "can't"),
        ("can´t", "can't"),
    ],
)
def test_folding_makes_spellings_one(written: str, folded: str) -> None:
    assert fold(written) == folded


# --- the phrase syntax ---------------------------------------------------------------------------


def test_a_phrase_is_places_of_words_stems_and_gaps() -> None:
    elements = parse_phrase("Lips/tongue * swell*")

    first, gap, last = elements
    assert first == (Word("lips", False), Word("tongue", False))
    assert not isinstance(gap, tuple)
    assert last == (Word("swel", True),)  # a repeated letter counts once


def test_a_hyphen_separates_words_like_a_space() -> None:
    assert parse_phrase("light-headed") == parse_phrase("light headed")


def test_a_stem_matches_every_ending() -> None:
    found_in = matcher(breathing=["lips * swell*"])

    for text in ("lips swell", "my lips are swelling", "lips swelled", "LIPS SWELLS"):
        assert signs(found_in, text) == ("breathing",), text
    assert signs(found_in, "lips") == ()


def test_a_lone_star_lets_up_to_the_gap_words_stand_between() -> None:
    found_in = matcher(breathing=["lips * swell*"])
    between = ["are", "really", "starting", "to", "visibly"]

    assert signs(found_in, " ".join(["lips", *between[:GAP_WORDS], "swell"])) == ("breathing",)
    assert signs(found_in, " ".join(["lips", *between[: GAP_WORDS + 1], "swell"])) == ()
    assert signs(found_in, "swelling lips") == ()  # the order is kept


def test_words_without_a_star_must_stand_next_to_each_other() -> None:
    found_in = matcher(fever=["high temperature"])

    assert signs(found_in, "a high temperature tonight") == ("fever",)
    assert signs(found_in, "high outside temperature") == ()
    assert signs(found_in, "temperature") == ()


def test_a_slash_gives_words_that_may_stand_in_one_place() -> None:
    found_in = matcher(breathing=["lips/tongue/throat * swollen"])

    for text in ("lips swollen", "my tongue is swollen", "THROAT swollen"):
        assert signs(found_in, text) == ("breathing",), text
    assert signs(found_in, "cheek swollen") == ()


def test_punctuation_between_words_does_not_hide_a_phrase() -> None:
    found_in = matcher(breathing=["lips * swell*"])

    assert signs(found_in, "my lips... they are swelling!") == ("breathing",)


# --- what a match forgives -----------------------------------------------------------------------


def test_repeated_letters_count_once() -> None:
    found_in = matcher(breathing=["can't breathe"])

    assert signs(found_in, "cant breatheeeee") == ("breathing",)
    assert signs(found_in, "caaant breathe") == ("breathing",)


def test_apostrophes_may_be_missing_or_curly() -> None:
    found_in = matcher(breathing=["can't breathe"])

    for text in ("can't breathe", "cant breathe", "can’t breathe", "CAN`T BREATHE"):
        assert signs(found_in, text) == ("breathing",), text


def test_an_elided_word_is_also_read_without_its_elision() -> None:
    found_in = DangerMatcher([phrase_file("fr", faint=["évanou*"])])

    assert signs(found_in, "je vais m'évanouir", "fr") == ("faint",)
    assert signs(found_in, "je vais m’evanouir", "fr") == ("faint",)


def test_prefixes_from_the_file_are_taken_off_the_patients_words() -> None:
    arabic = phrase_file("ar", prefixes=("ال", "و", "ب", "بال"), breathing=["صعوبه * تنفس"])
    found_in = DangerMatcher([arabic])

    for text in ("صعوبة في التنفس", "صعوبة بالتنفس", "وصعوبة تنفس", "صُعُوبَة في التَّنَفُّس"):
        assert signs(found_in, text, "ar") == ("breathing",), text
    assert signs(found_in, "تنفس", "ar") == ()


@pytest.mark.parametrize(
    ("written", "is_found"),
    [
        ("blistre", True),  # two letters swapped: one typo
        ("bister", True),  # one letter missing
        ("blisterr", True),  # repeated letter
        ("blixter", True),  # one letter wrong
        ("vlister", False),  # the first letter must be right
        ("blstre", False),  # two typos in a 7-letter word
    ],
)
def test_one_typo_is_forgiven_in_a_word_of_six_letters_or_more(
    written: str, is_found: bool
) -> None:
    assert len("blister") >= FUZZY_ONE_FROM
    found_in = matcher(skin_colour=["blister"])

    assert bool(signs(found_in, written)) is is_found


def test_shorter_words_need_their_typos_listed() -> None:
    # "fever" is one letter from "never" and "fewer": the file lists "fevr" instead
    assert len("fever") < FUZZY_ONE_FROM
    found_in = matcher(fever=["fever/fevr"])

    assert signs(found_in, "I never had it") == ()
    assert signs(found_in, "fewer bumps") == ()
    assert signs(found_in, "a fevr") == ("fever",)
    assert signs(found_in, "a feverrr") == ("fever",)


def test_two_typos_are_forgiven_in_a_word_of_ten_letters_or_more() -> None:
    assert len("urticaria") < FUZZY_TWO_FROM <= len("excruciating")
    found_in = matcher(severe_pain=["excruciating"], hives=["urticaria"])

    assert signs(found_in, "excrutiatng") == ("severe_pain",)  # two typos
    assert signs(found_in, "urtikaria") == ("hives",)  # one typo
    assert signs(found_in, "urtikarya") == ()  # two typos in a 9-letter word


def test_a_stem_forgives_a_typo_before_its_ending() -> None:
    found_in = matcher(breathing=["can't breath*"])

    assert signs(found_in, "cant brething") == ("breathing",)
    assert signs(found_in, "cant bre") == ()


def test_digits_are_never_guessed() -> None:
    found_in = matcher(fever=["temperature 39"])

    assert signs(found_in, "temperature 39") == ("fever",)
    assert signs(found_in, "temperature 36") == ()


# --- negations ------------------------------------------------------------------------------------


def test_a_negation_just_before_an_urgent_phrase_cancels_it() -> None:
    found_in = matcher(fever=["fever"])

    assert signs(found_in, "no fever") == ()
    assert signs(found_in, "I don't have a fever") == ()  # three words back
    assert signs(found_in, "I dont have a fever") == ()
    assert signs(found_in, "fever") == ("fever",)


def test_a_negation_further_back_than_the_window_does_not_reach() -> None:
    found_in = matcher(fever=["fever"])
    words = ["no", "idea", "why", "I", "have", "fever"]
    assert len(words) - 2 > NEGATION_WINDOW

    assert signs(found_in, " ".join(words)) == ("fever",)


def test_a_negation_inside_the_gap_cancels_an_urgent_phrase() -> None:
    found_in = matcher(spreading=["redness * spreading"])

    assert signs(found_in, "the redness is not spreading") == ()
    assert signs(found_in, "the redness is spreading") == ("spreading",)


def test_punctuation_and_clause_breaks_stop_a_negation() -> None:
    found_in = matcher(fever=["fever"], pus=["pus"])

    assert signs(found_in, "no redness, fever") == ("fever",)
    assert signs(found_in, "no redness but fever") == ("fever",)
    assert signs(found_in, "no fever but pus") == ("pus",)


def test_an_elided_negation_cancels_the_phrase_it_is_part_of() -> None:
    french = phrase_file("fr", negations=("pas", "ne", "n"), spreading=["empire"])
    found_in = DangerMatcher([french])

    assert signs(found_in, "ça n'empire pas", "fr") == ()
    assert signs(found_in, "ça empire", "fr") == ("spreading",)


def test_a_negation_never_cancels_an_emergency_phrase() -> None:
    found_in = matcher(breathing=["trouble * breathing", "lips * swell*"])

    assert signs(found_in, "no trouble breathing") == ("breathing",)
    assert signs(found_in, "my lips are not swelling") == ("breathing",)


def test_a_negation_that_belongs_to_the_phrase_is_not_a_denial() -> None:
    found_in = matcher(severe_pain=["painkillers * not * help*"])

    assert signs(found_in, "the painkillers are not helping") == ("severe_pain",)


# --- the result -----------------------------------------------------------------------------------


def test_the_highest_level_wins_and_every_sign_is_listed_highest_first() -> None:
    found_in = matcher(hives=["hives"], faint=["feel faint"], fever=["fever"])

    found = found_in.match("fever and hives, and I feel faint", "en")

    assert found is not None
    assert found.level is EMERGENCY
    assert found.signs == ("faint", "fever", "hives")
    assert [hit.level for hit in found.hits] == [EMERGENCY, URGENT, URGENT]


def test_hives_alone_stay_urgent() -> None:
    found = matcher(hives=["hives"], faint=["feel faint"]).match("hives on my arms", "en")

    assert found is not None and (found.sign, found.level) == ("hives", URGENT)


def test_the_match_names_the_phrase_from_the_file_never_the_patients_words() -> None:
    found = matcher(fever=["fever"]).match("Anna here, I have a FEVERRR since Monday", "en")

    assert found is not None
    assert found.phrase == "fever"
    assert found.describe() == 'urgent: fever (en "fever")'
    assert "Anna" not in repr(found)


def test_the_patients_language_is_tried_first_then_every_other() -> None:
    english = phrase_file("en", pus=["pus"])
    spanish = phrase_file("es", pus=["pus"], fever=["fiebre"])
    found_in = DangerMatcher([english, spanish])

    assert found_in.languages == ("en", "es")
    found = found_in.match("pus", "es")
    assert found is not None and found.language == "es"
    found = found_in.match("fiebre y pus", "en")
    assert found is not None
    assert [(hit.sign, hit.language) for hit in found.hits] == [("fever", "es"), ("pus", "en")]


def test_a_message_without_words_matches_nothing() -> None:
    found_in = matcher()

    for text in ("", "   ", "?!", "👍", "12:30"):
        assert found_in.match(text, "en") is None


def test_a_long_message_is_judged_whole() -> None:
    found_in = matcher(fever=["fever"])
    text = "all fine today " * 200 + "but a fever tonight"

    assert signs(found_in, text) == ("fever",)


# --- files and the matcher refuse mistakes -----------------------------------------------------


def test_a_language_is_compiled_once() -> None:
    with pytest.raises(DangerWordsError, match=r"language 'en' is already in en\.toml"):
        DangerMatcher([phrase_file("en"), phrase_file("en")])


def test_a_sign_keeps_one_level_across_languages() -> None:
    english = phrase_file("en")
    levels = {sign: entry.level.name_key for sign, entry in english.signs.items()}
    levels["vision"] = "urgent"
    text = "\n".join(
        f'[{sign}]\nlevel = "{level}"\nphrases = ["qq zz"]' for sign, level in levels.items()
    )
    french = parse_phrase_file(text, "fr.toml", "fr")

    with pytest.raises(DangerWordsError) as caught:
        DangerMatcher([english, french])

    assert (caught.value.source, caught.value.key) == ("fr.toml", "vision.level")
    assert caught.value.line == text.splitlines().index('level = "urgent"', 6) + 1


def test_no_file_at_all_is_refused() -> None:
    with pytest.raises(DangerWordsError, match="no language has a phrase file"):
        DangerMatcher([])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('negations = "no"', "must be a list of quoted phrases"),
        ("colour = 3", "unknown setting"),
        ('prefixes = ["a b"]', "is not a word beginning"),
        ('negations = ["n*o"]', "is not a plain word"),
    ],
)
def test_settings_are_checked(text: str, problem: str) -> None:
    complete = phrase_file()
    tables = "\n".join(
        f'[{sign}]\nlevel = "{entry.level.name_key}"\nphrases = ["qq zz"]'
        for sign, entry in complete.signs.items()
    )

    with pytest.raises(DangerWordsError, match=problem):
        parse_phrase_file(f"{text}\n{tables}", "en.toml", "en")
