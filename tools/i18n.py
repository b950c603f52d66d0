"""Catalog upkeep: extract the template, update every language, fill English, check completeness.

python tools/i18n.py update   # pybabel extract + update; English msgstr = msgid
python tools/i18n.py fill F.json …  # translations {"msgid": {"fr": "…"}} into the catalogs
python tools/i18n.py check    # every shipped catalog complete, placeholders intact
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
KEYWORDS = ["-k", "t:2", "-k", "nt:2,3", "-k", "N_", "-k", "_pt:3", "-k", "_st:2"]
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True, cwd=ROOT)


def update() -> None:
    run(
        "extract",
        "-F",
        "babel.cfg",
        *KEYWORDS,
        "--sort-output",
        "--project",
        "aftercare-bot",
        "--copyright-holder",
        "Aftercare bot contributors",
        "-o",
        str(POT),
        ".",
    )
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        run(
            "update",
            "-i",
            str(POT),
            "-o",
            str(po),
            "-l",
            po.parent.parent.name,
            "--no-fuzzy-matching",
        )
    en = LOCALES / "en" / "LC_MESSAGES" / "messages.po"
    if not en.exists():
        run("init", "-i", str(POT), "-o", str(en), "-l", "en")
    with en.open("rb") as fh:
        catalog = read_po(fh, locale="en")
    for message in catalog:
        if message.id:
            message.string = message.id
            message.flags.discard("fuzzy")
    with en.open("wb") as fh:
        write_po(fh, catalog, width=100)


def check() -> int:
    with POT.open("rb") as fh:
        template = read_po(fh)
    problems = []
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parent.parent.name
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id)
            strings = found.string if found else None
            values = list(strings) if isinstance(strings, tuple) else [strings]
            if found is None or "fuzzy" in found.flags or not all(values):
                problems.append(f"{lang}: missing {str(message.id)[:60]!r}")
                continue
            want = set(
                PLACEHOLDER.findall(
                    str(message.id if isinstance(message.id, str) else message.id[0])
                )
            )
            for value in values:
                if set(PLACEHOLDER.findall(str(value))) - want - {"{n}"}:
                    problems.append(f"{lang}: placeholders differ in {str(message.id)[:60]!r}")
    print("\n".join(problems) or "all catalogs complete")
    return 1 if problems else 0


def fill(paths: list[str]) -> None:
    """Translations handed over as JSON files, `{"msgid": {"fr": "...", ...}}`, written into
    the catalogs (after `update` has added the msgids). A msgid the template does not have is
    reported, not added: it is either mistyped or no longer in the code."""
    given: dict[str, dict[str, str]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for msgid, strings in json.load(fh).items():
                given.setdefault(msgid, {}).update(strings)
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parent.parent.name
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        for msgid, strings in given.items():
            message = catalog.get(msgid)
            if message is None:
                print(f"{lang}: not in the catalog, skipped: {msgid[:60]!r}")
            elif lang in strings:
                message.string = strings[lang]
                message.flags.discard("fuzzy")
        with po.open("wb") as fh:
            write_po(fh, catalog, width=100 if lang == "en" else 76)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "update":
        update()
        sys.exit(check())
    if command == "fill":
        fill(sys.argv[2:])
        sys.exit(check())
    sys.exit(check())
