"""The wheel's configuration and the code that finds the catalogs and migrations agree.

Building a wheel is left to .ci/run; these checks read pyproject.toml and lay out, in a temp dir,
the files where the wheel would put them.
"""

from __future__ import annotations

import ast
import shutil
import tomllib
from pathlib import Path

from bot.db.migrate import ALEMBIC_DIR, head_revision, migrations_dir
from bot.i18n import LOCALES_DIR, I18n, catalogs_dir

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_PACKAGES = ("bot", "jobs", "telegram_standin")


def wheel_config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as fh:
        config: dict[str, object] = tomllib.load(fh)["tool"]["hatch"]["build"]["targets"]["wheel"]
    return config


def test_the_wheel_ships_the_packages_catalogs_and_migrations_and_no_tests() -> None:
    config = wheel_config()

    assert sorted(config["only-include"]) == sorted([*SHIPPED_PACKAGES, "locales", "alembic"])
    assert config["sources"] == {"locales": "bot/locales", "alembic": "bot/migrations"}
    for package in SHIPPED_PACKAGES:
        assert (ROOT / package / "__init__.py").is_file()
    assert list((ROOT / "bot" / "protocols").glob("*.toml"))


def test_in_the_source_tree_the_catalogs_and_migrations_are_found_at_the_top() -> None:
    assert LOCALES_DIR == ROOT / "locales"
    assert (LOCALES_DIR / "messages.pot").is_file()
    assert {"en", "ar"} <= set(I18n.shipped().languages)

    assert ALEMBIC_DIR == ROOT / "alembic"
    assert (ALEMBIC_DIR / "env.py").is_file()
    assert (ALEMBIC_DIR / "script.py.mako").is_file()
    assert list((ALEMBIC_DIR / "versions").glob("0001_*.py"))
    assert head_revision() is not None


def test_in_an_installed_wheel_the_copies_inside_the_package_are_found(tmp_path: Path) -> None:
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "bot", site / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    sources = wheel_config()["sources"]
    assert isinstance(sources, dict)
    for source, target in sources.items():
        shutil.copytree(ROOT / source, site / target, ignore=shutil.ignore_patterns("__pycache__"))

    assert catalogs_dir(site / "bot") == site / "bot" / "locales"
    assert I18n.shipped(root=catalogs_dir(site / "bot")).languages == I18n.shipped().languages
    assert migrations_dir(site / "bot") == site / "bot" / "migrations"
    assert (migrations_dir(site / "bot") / "env.py").is_file()


def test_shipped_code_imports_nothing_that_stays_out_of_the_wheel() -> None:
    # tests/ and benchmarks/ are not in the wheel: an import of them works in a checkout and
    # fails with ModuleNotFoundError for everyone who installed the package.
    offenders = []
    for package in SHIPPED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                offenders += [
                    f"{path.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.split(".")[0] in {"tests", "benchmarks", "tools"}
                ]
    assert offenders == []
