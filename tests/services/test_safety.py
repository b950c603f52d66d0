"""Danger words as shipped: every language recognises its patients' words for each sign, keeps
quiet about everyday messages, and the loader refuses a broken file naming the file, line and key
(docs/clinical.md#danger-words)."""

import importlib.resources
import shutil
from pathlib import Path

import pytest

from bot.domain.danger import SIGNS, DangerWordsError
from bot.domain.triage import Level
from bot.i18n import I18n
from bot.services.safety import SHIPPED_DIR, load_phrase_file, load_safety

SAFETY = load_safety(languages=I18n.shipped().languages)
EMERGENCY, URGENT = Level.EMERGENCY, Level.URGENT

# (language, what a patient writes, the sign that decides, its level). Written as patients type:
# informal, typos, no accents, inflected, mixed case.
MATCHES = [
    # English
    ("en", "I can't breathe properly and my lips are swelling up", "breathing", EMERGENCY),
    ("en", "cant breath", "breathing", EMERGENCY),
    ("en", "I can not breath!!", "breathing", EMERGENCY),
    ("en", "it's hard to breathe", "breathing", EMERGENCY),
    ("en", "BREATHING IS REALLY DIFFICULT", "breathing", EMERGENCY),
    ("en", "difficlty breathing", "breathing", EMERGENCY),
    ("en", "my lips r swelling", "breathing", EMERGENCY),
    ("en", "my tongue feels swollen", "breathing", EMERGENCY),
    ("en", "having trouble swallowing", "breathing", EMERGENCY),
    ("en", "my face is swelling up really fast", "breathing", EMERGENCY),
    ("en", "I think I'm going to faint", "faint", EMERGENCY),
    ("en", "I passed out for a minute", "faint", EMERGENCY),
    ("en", "feeling really dizzzy", "faint", EMERGENCY),
    ("en", "my vision is blurry since this morning", "vision", EMERGENCY),
    ("en", "seeing double", "vision", EMERGENCY),
    ("en", "I have a fever of 38.5", "fever", URGENT),
    ("en", "feverr and chills", "fever", URGENT),
    ("en", "I've got the shivers", "fever", URGENT),
    ("en", "there's pus coming out of one spot", "pus", URGENT),
    ("en", "yellow fluid oozing from the bump", "pus", URGENT),
    ("en", "the redness is spreading down my neck", "spreading", URGENT),
    ("en", "red streaks going up from the area", "spreading", URGENT),
    ("en", "the pain is getting worse every day", "spreading", URGENT),
    ("en", "the skin by one injection is turning grey", "skin_colour", URGENT),
    ("en", "there are blisterrs on my forehead", "skin_colour", URGENT),
    ("en", "the pain is unbearable", "severe_pain", URGENT),
    ("en", "Excruciating pain in my cheek", "severe_pain", URGENT),
    ("en", "hives all over my body", "hives", URGENT),
    ("en", "itchy rash spreading over my chest", "hives", URGENT),
    ("en", "no fever but my lips are swelling", "breathing", EMERGENCY),
    # French
    ("fr", "J'arrive pas à bien respirer et mes lèvres gonflent", "breathing", EMERGENCY),
    ("fr", "je n'arrive pas a respirer", "breathing", EMERGENCY),
    ("fr", "jarrive pa a respirer", "breathing", EMERGENCY),
    ("fr", "j'ai du mal à respirer", "breathing", EMERGENCY),
    ("fr", "mes levres sont en train de gonfler", "breathing", EMERGENCY),
    ("fr", "ma langue a gonflé", "breathing", EMERGENCY),
    ("fr", "j'ai la gorge qui se serre", "breathing", EMERGENCY),
    ("fr", "je me sens partir, j'ai la tête qui tourne", "faint", EMERGENCY),
    ("fr", "j'ai fait un malaise", "faint", EMERGENCY),
    ("fr", "je vois flou depuis ce matin", "vision", EMERGENCY),
    ("fr", "VISION DOUBLE", "vision", EMERGENCY),
    ("fr", "j'ai de la fièvre", "fever", URGENT),
    ("fr", "39 de fievre cette nuit", "fever", URGENT),
    ("fr", "j'ai des frissonss", "fever", URGENT),
    ("fr", "il y a du pus qui sort d'un bouton", "pus", URGENT),
    ("fr", "ça suinte un liquide jaune", "pus", URGENT),
    ("fr", "la rougeur s'étend vers le cou", "spreading", URGENT),
    ("fr", "c'est de plus en plus rouge et chaud", "spreading", URGENT),
    ("fr", "la peau devient grise autour d'un point", "skin_colour", URGENT),
    ("fr", "des cloques sont apparues", "skin_colour", URGENT),
    ("fr", "douleur insuportable", "severe_pain", URGENT),
    ("fr", "j'ai une douleur atroce à la joue", "severe_pain", URGENT),
    ("fr", "le doliprane ne fait rien", "severe_pain", URGENT),
    ("fr", "de l'urticaire partout", "hives", URGENT),
    ("fr", "ça me gratte partout sur le corps", "hives", URGENT),
    ("fr", "pas de fièvre mais j'arrive plus à respirer", "breathing", EMERGENCY),
    # Spanish
    ("es", "No puedo respirar bien y se me están hinchando los labios", "breathing", EMERGENCY),
    ("es", "no puedo respirarrr", "breathing", EMERGENCY),
    ("es", "me cuesta mucho respirar", "breathing", EMERGENCY),
    ("es", "tengo dificultad para tragar", "breathing", EMERGENCY),
    ("es", "se me cierra la garganta", "breathing", EMERGENCY),
    ("es", "labios hinchados", "breathing", EMERGENCY),
    ("es", "la lengua se me está hinchando", "breathing", EMERGENCY),
    ("es", "me desmayé hace un rato", "faint", EMERGENCY),
    ("es", "estoy muy mareada", "faint", EMERGENCY),
    ("es", "veo borroso", "vision", EMERGENCY),
    ("es", "veo doble de un ojo", "vision", EMERGENCY),
    ("es", "tengo fiebre de 39", "fever", URGENT),
    ("es", "tengo escalofrios", "fever", URGENT),
    ("es", "me sale pus de un granito", "pus", URGENT),
    ("es", "sale liquido amarillo", "pus", URGENT),
    ("es", "la rojez se está extendiendo", "spreading", URGENT),
    ("es", "cada vez más roja y caliente", "spreading", URGENT),
    ("es", "la piel se está poniendo gris", "skin_colour", URGENT),
    ("es", "me salieron ampollas", "skin_colour", URGENT),
    ("es", "dolor insoportable en la mejilla", "severe_pain", URGENT),
    ("es", "me duele muchisimo", "severe_pain", URGENT),
    ("es", "tengo ronchas por todo el cuerpo", "hives", URGENT),
    ("es", "me pica todo el cuerpo", "hives", URGENT),
    ("es", "sin fiebre pero me falta el aire", "breathing", EMERGENCY),
    # Russian
    ("ru", "Не могу нормально дышать, и губы опухают", "breathing", EMERGENCY),
    ("ru", "не могу дышать", "breathing", EMERGENCY),
    ("ru", "дышатььь тяжелоо", "breathing", EMERGENCY),
    ("ru", "трудно глотать", "breathing", EMERGENCY),
    ("ru", "задыхаюсь", "breathing", EMERGENCY),
    ("ru", "губы опухли", "breathing", EMERGENCY),
    ("ru", "язык распух", "breathing", EMERGENCY),
    ("ru", "горло сжимается", "breathing", EMERGENCY),
    ("ru", "кажется, сейчас упаду в обморок", "faint", EMERGENCY),
    ("ru", "голова сильно кружится", "faint", EMERGENCY),
    ("ru", "в глазах двоится", "vision", EMERGENCY),
    ("ru", "зрение резко ухудшилось", "vision", EMERGENCY),
    ("ru", "у меня температура 38.5", "fever", URGENT),
    ("ru", "ТЕМПЕРАТУРА 39", "fever", URGENT),
    ("ru", "знобит весь день", "fever", URGENT),
    ("ru", "из точки идёт гной", "pus", URGENT),
    ("ru", "покраснение расползается по щеке", "spreading", URGENT),
    ("ru", "щека горячая на ощупь", "spreading", URGENT),
    ("ru", "кожа посинела вокруг укола", "skin_colour", URGENT),
    ("ru", "появились пузыри", "skin_colour", URGENT),
    ("ru", "невыносимая боль", "severe_pain", URGENT),
    ("ru", "болит так, что не могу терпеть", "severe_pain", URGENT),
    ("ru", "крапивница по всему телу", "hives", URGENT),
    ("ru", "всё тело чешется", "hives", URGENT),
    ("ru", "температуры нет, но губы отекают", "breathing", EMERGENCY),
    # Arabic (Gulf, Levantine, Egyptian and standard)
    ("ar", "ما اقدر اتنفس زين وشفايفي قاعدة تنتفخ", "breathing", EMERGENCY),
    ("ar", "مش قادرة أتنفس كويس وشفايفي بتورم", "breathing", EMERGENCY),
    ("ar", "لا أستطيع التنفس", "breathing", EMERGENCY),
    ("ar", "عندي صعوبة في البلع", "breathing", EMERGENCY),
    ("ar", "نفسي مقطوع", "breathing", EMERGENCY),
    ("ar", "لساني متورم", "breathing", EMERGENCY),
    ("ar", "حاسة حلقي يقفل", "breathing", EMERGENCY),
    ("ar", "أُغمي عليّ", "faint", EMERGENCY),
    ("ar", "عندي دوخة شديدة", "faint", EMERGENCY),
    ("ar", "الدنيا بتلف بيا", "faint", EMERGENCY),
    ("ar", "نظري صار مغبش", "vision", EMERGENCY),
    ("ar", "اشوف دبل", "vision", EMERGENCY),
    ("ar", "عندي حرارة ٣٩", "fever", URGENT),
    ("ar", "جاتني سخونة ورعشة", "fever", URGENT),
    ("ar", "فيه صديد يطلع من مكان الابرة", "pus", URGENT),
    ("ar", "الاحمرار قاعد ينتشر", "spreading", URGENT),
    ("ar", "فيه خطوط حمراء", "spreading", URGENT),
    ("ar", "الجلد صار لونه رمادي", "skin_colour", URGENT),
    ("ar", "طلعت فقاعات", "skin_colour", URGENT),
    ("ar", "ألم شديد جداً", "severe_pain", URGENT),
    ("ar", "الوجع ما ينطاق", "severe_pain", URGENT),
    ("ar", "حساسية في كل جسمي", "hives", URGENT),
    ("ar", "طفح جلدي منتشر", "hives", URGENT),
    ("ar", "ما عندي حرارة بس ما اقدر اتنفس", "breathing", EMERGENCY),
]

# Everyday messages, and signs that are denied (urgent ones only: see the negation rule).
NO_MATCHES = [
    ("en", "my skin feels fine"),
    ("en", "the swelling is gone"),
    ("en", "can I put make-up on tomorrow?"),
    ("en", "thank you"),
    ("en", "the redness is better"),
    ("en", "when is my next session?"),
    ("en", "a little redness and a few small bumps, nothing else"),
    ("en", "I have a small bruise near my eye"),
    ("en", "can I go to the sauna on Friday?"),
    ("en", "is it normal to feel a bit itchy?"),
    ("en", "I don't have a fever"),
    ("en", "no pus, no fever, all good"),
    ("en", "the redness isn't spreading"),
    ("en", "breathing fine, thanks"),
    ("en", "I had fewer bumps this time"),
    ("fr", "ma peau va bien"),
    ("fr", "le gonflement a disparu"),
    ("fr", "est-ce que je peux me maquiller demain ?"),
    ("fr", "merci beaucoup"),
    ("fr", "la rougeur va mieux"),
    ("fr", "c'est quand ma prochaine séance ?"),
    ("fr", "j'ai un petit bleu près de l'œil"),
    ("fr", "je peux aller au sauna vendredi ?"),
    ("fr", "pas de fièvre, tout va bien"),
    ("fr", "la rougeur ne s'étend pas"),
    ("fr", "ça n'empire pas, ça va mieux"),
    ("fr", "quelques petits boutons, rien d'autre"),
    ("fr", "je respire bien, merci"),
    ("es", "mi piel está bien"),
    ("es", "la hinchazón ya se fue"),
    ("es", "¿puedo maquillarme mañana?"),
    ("es", "muchas gracias"),
    ("es", "la rojez está mejor"),
    ("es", "¿cuándo es mi próxima sesión?"),
    ("es", "tengo un pequeño moretón cerca del ojo"),
    ("es", "¿puedo ir a la sauna el viernes?"),
    ("es", "no tengo fiebre"),
    ("es", "la rojez no se extiende"),
    ("es", "unos granitos pequeños, nada más"),
    ("es", "respiro bien, gracias"),
    ("ru", "кожа в порядке"),
    ("ru", "отёк прошёл"),
    ("ru", "можно завтра накраситься?"),
    ("ru", "спасибо большое"),
    ("ru", "покраснение стало меньше"),
    ("ru", "когда следующая процедура?"),
    ("ru", "небольшой синяк под глазом"),
    ("ru", "можно в пятницу в сауну?"),
    ("ru", "температуры нет"),
    ("ru", "покраснение не распространяется"),
    ("ru", "немного красноты и пара бугорков, больше ничего"),
    ("ru", "дышу нормально, спасибо"),
    ("ar", "بشرتي تمام"),
    ("ar", "الورم راح"),
    ("ar", "اقدر احط مكياج بكرة؟"),
    ("ar", "شكرا"),
    ("ar", "الاحمرار احسن"),
    ("ar", "متى الجلسة الجاية؟"),
    ("ar", "عندي كدمة صغيرة تحت العين"),
    ("ar", "اقدر اروح الساونا يوم الجمعة؟"),
    ("ar", "ما عندي حرارة"),
    ("ar", "الاحمرار ما ينتشر"),
    ("ar", "شوية احمرار وحبوب صغيرة بس"),
    ("ar", "اتنفس عادي الحمد لله"),
]


@pytest.mark.parametrize(("language", "text", "sign", "level"), MATCHES)
def test_danger_words_are_recognised(language: str, text: str, sign: str, level: Level) -> None:
    found = SAFETY.match(text, language)

    assert found is not None, text
    assert (found.sign, found.level) == (sign, level), found.describe()
    assert found.language == language, found.describe()


@pytest.mark.parametrize(("language", "text"), NO_MATCHES)
def test_everyday_messages_raise_nothing(language: str, text: str) -> None:
    found = SAFETY.match(text, language)

    assert found is None, found.describe() if found else ""


@pytest.mark.parametrize("language", sorted(I18n.shipped().languages))
def test_every_language_has_its_table_of_phrasings(language: str) -> None:
    matches = [row for row in MATCHES if row[0] == language]
    assert len(matches) >= 15
    assert {level for *_, level in matches} == {EMERGENCY, URGENT}
    assert len([row for row in NO_MATCHES if row[0] == language]) >= 10


def test_the_issue_example_is_an_emergency_in_every_language() -> None:
    examples = {
        "en": "I can't breathe properly and my lips are swelling up",
        "fr": "J'arrive pas à bien respirer et mes lèvres gonflent",
        "es": "No puedo respirar bien y se me están hinchando los labios",
        "ru": "Не могу нормально дышать, и губы опухают",
        "ar": "ما اقدر اتنفس زين وشفايفي قاعدة تنتفخ",
    }
    assert set(examples) == set(SAFETY.languages)
    for language, text in examples.items():
        found = SAFETY.match(text, language)
        assert found is not None and found.level is EMERGENCY, language
        assert found.signs == ("breathing",), found.describe()


def test_a_patient_writing_in_another_language_is_still_understood() -> None:
    found = SAFETY.match("Не могу дышать", "en")

    assert found is not None
    assert (found.sign, found.level, found.language) == ("breathing", EMERGENCY, "ru")


def test_the_patients_own_language_names_the_phrase_when_several_languages_match() -> None:
    # "pus" is the same word in English, French and Spanish
    for language in ("en", "fr", "es"):
        found = SAFETY.match("pus", language)
        assert found is not None and found.language == language


def test_the_highest_level_decides_and_every_sign_is_named() -> None:
    found = SAFETY.match("I have hives everywhere and I feel faint, also a fever", "en")

    assert found is not None
    assert found.level is EMERGENCY
    assert found.signs == ("faint", "fever", "hives")
    assert found.describe().startswith('emergency: faint (en "')


def test_hives_alone_are_urgent() -> None:
    found = SAFETY.match("hives all over my arms", "en")

    assert found is not None and (found.sign, found.level) == ("hives", URGENT)


def test_an_emergency_sign_is_never_cancelled_by_a_negation() -> None:
    # Over-alerting is safer: staff close it as "no action needed" (docs/clinical.md#danger-words)
    found = SAFETY.match("no trouble breathing", "en")

    assert found is not None and found.level is EMERGENCY


def test_an_empty_or_unknown_language_still_tries_every_language() -> None:
    assert SAFETY.match("", "en") is None
    for language in (None, "de"):
        found = SAFETY.match("des frissons", language)
        assert found is not None and found.language == "fr"


# --- the shipped files -------------------------------------------------------------------------


def test_every_shipped_language_has_a_file_and_every_sign_has_phrases() -> None:
    shipped = set(I18n.shipped().languages)

    assert {path.stem for path in SHIPPED_DIR.glob("*.toml")} == shipped
    for language in shipped:
        phrase_file = load_phrase_file(SHIPPED_DIR / f"{language}.toml")
        assert tuple(phrase_file.signs) == SIGNS
        for sign, entry in phrase_file.signs.items():
            assert entry.phrases, (language, sign)
        assert phrase_file.negations, language
        assert phrase_file.clause_breaks, language


def test_the_files_are_found_through_the_package_so_an_installed_wheel_has_them(
    tmp_path: Path,
) -> None:
    packaged = importlib.resources.files("bot.safety")
    assert Path(str(packaged)) == SHIPPED_DIR
    assert sorted(p.name for p in packaged.iterdir() if p.name.endswith(".toml")) == sorted(
        p.name for p in SHIPPED_DIR.glob("*.toml")
    )
    # the wheel ships the bot package whole (pyproject.toml: only-include "bot")
    site = tmp_path / "site-packages" / "bot" / "safety"
    shutil.copytree(SHIPPED_DIR, site, ignore=shutil.ignore_patterns("__pycache__"))
    copied = load_safety(site, languages=SAFETY.languages)
    assert copied.languages == SAFETY.languages


def test_the_level_of_each_sign_follows_the_clinical_review() -> None:
    expected = {
        "breathing": EMERGENCY,
        "faint": EMERGENCY,
        "vision": EMERGENCY,
        "fever": URGENT,
        "pus": URGENT,
        "spreading": URGENT,
        "skin_colour": URGENT,
        "severe_pain": URGENT,
        "hives": URGENT,
    }
    for language in SAFETY.languages:
        phrase_file = load_phrase_file(SHIPPED_DIR / f"{language}.toml")
        assert {s: e.level for s, e in phrase_file.signs.items()} == expected, language


# --- the loader refuses broken files -----------------------------------------------------------


def _complete(**override: str) -> str:
    """A valid file: every sign with one phrase, one sign's table replaced by `override`."""
    tables = []
    for number, sign in enumerate(SIGNS):
        level = "emergency" if sign in ("breathing", "faint", "vision") else "urgent"
        body = override.get(sign, f'level = "{level}"\nphrases = ["word{number} here"]\n')
        tables.append(f"[{sign}]\n{body}")
    return 'negations = ["no"]\n\n' + "\n".join(tables)


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def _refused(path: Path) -> DangerWordsError:
    with pytest.raises(DangerWordsError) as caught:
        load_safety(path.parent)
    return caught.value


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    text = _complete().replace('phrases = ["word3 here"]', 'phrases = ["word3 here"')
    bad = _write(tmp_path, "en.toml", text)
    line = text.splitlines().index('phrases = ["word3 here"') + 1

    error = _refused(bad)

    assert error.source == str(bad)
    assert error.line is not None and line <= error.line <= line + 2
    assert str(error).startswith(f"{bad}: line {error.line}: is not valid TOML")


def test_a_bad_phrase_names_the_file_line_sign_and_phrase(tmp_path: Path) -> None:
    override = 'level = "urgent"\nphrases = [\n    "fever",\n    "fev(er)?",\n]\n'
    text = _complete(fever=override)
    bad = _write(tmp_path, "en.toml", text)
    line = text.splitlines().index('    "fev(er)?",') + 1

    error = _refused(bad)

    assert (error.line, error.key) == (line, "fever.phrases[2] 'fev(er)?'")
    assert str(error).startswith(f"{bad}: line {line}: fever.phrases[2] 'fev(er)?': ")
    assert "is not a plain word" in str(error)


@pytest.mark.parametrize(
    ("phrase", "problem"),
    [
        ("* fever", "a lone * must stand between two words"),
        ("fever *", "a lone * must stand between two words"),
        ("lips * * swell", "a lone * must stand between two words"),
        ("li* swell", "shorter than 3 letters"),
        ("lips//tongue", "empty word"),
        ("   ", "is empty"),
        ("fe*ver", "is not a plain word"),
    ],
)
def test_each_phrase_mistake_is_refused_with_its_reason(
    tmp_path: Path, phrase: str, problem: str
) -> None:
    bad = _write(tmp_path, "en.toml", _complete(pus=f'level = "urgent"\nphrases = ["{phrase}"]\n'))

    error = _refused(bad)

    assert error.key is not None and error.key.startswith("pus.phrases[1]")
    assert problem in error.problem


def test_an_unknown_sign_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    text = _complete() + '\n[breathng]\nlevel = "emergency"\nphrases = ["x y"]\n'
    bad = _write(tmp_path, "en.toml", text)

    error = _refused(bad)

    assert (error.key, error.line) == ("[breathng]", text.splitlines().index("[breathng]") + 1)
    assert "did you mean 'breathing'?" in str(error)


def test_a_missing_sign_is_refused(tmp_path: Path) -> None:
    text = _complete()
    start = text.index("[hives]")
    bad = _write(tmp_path, "en.toml", text[:start])

    assert "no phrases for hives" in str(_refused(bad))


def test_a_bad_level_names_the_sign_and_line(tmp_path: Path) -> None:
    text = _complete(pus='level = "unusual"\nphrases = ["pus"]\n')
    bad = _write(tmp_path, "en.toml", text)

    error = _refused(bad)

    assert error.key == "pus.level"
    assert error.line == text.splitlines().index('level = "unusual"') + 1
    assert "emergency or urgent" in str(error)


def test_an_unknown_key_and_a_phrase_listed_twice_are_refused(tmp_path: Path) -> None:
    bad = _write(tmp_path, "en.toml", _complete(pus='level = "urgent"\nphrase = ["pus"]\n'))
    assert _refused(bad).key == "pus.phrase"

    twice = 'level = "urgent"\nphrases = ["pus", "PUS"]\n'
    bad = _write(tmp_path, "en.toml", _complete(pus=twice))
    error = _refused(bad)
    assert error.key == "pus.phrases[2] 'PUS'" and "listed twice" in error.problem


def test_a_sign_has_one_level_in_every_language(tmp_path: Path) -> None:
    _write(tmp_path, "en.toml", _complete())
    other = _write(tmp_path, "fr.toml", _complete(pus='level = "emergency"\nphrases = ["pus"]\n'))

    error = _refused(other)

    assert (error.source, error.key) == (str(other), "pus.level")
    assert "emergency here but urgent in" in str(error)


def test_a_shipped_language_without_a_file_stops_start_up(tmp_path: Path) -> None:
    _write(tmp_path, "en.toml", _complete())

    with pytest.raises(DangerWordsError, match="has no danger-word file for ar, fr"):
        load_safety(tmp_path, languages=("en", "fr", "ar"))


def test_a_file_must_be_named_after_its_language(tmp_path: Path) -> None:
    bad = _write(tmp_path, "english.toml", _complete())

    assert "named after its language code" in str(_refused(bad))


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "en.toml"
    bad.write_bytes(b'negations = ["\xff"]\n')

    assert "is not UTF-8 text" in str(_refused(bad))


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DangerWordsError, match="holds no danger-word files"):
        load_safety(tmp_path)
