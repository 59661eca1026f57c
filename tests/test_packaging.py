"""The distribution's metadata, and the docs pages that repeat what the README and the code say.

CI builds the sdist and wheel, checks them with twine and runs the wheel from a venv of its
own (`.ci/run`); these tests catch the cheaper mistakes on every test run.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import tomllib
from pathlib import Path
from typing import Any

from observer.drills import toml_drill

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT: dict[str, Any] = PYPROJECT["project"]
DOCS = ROOT / "docs"


def fences(path: Path, language: str) -> list[str]:
    """The bodies of the ``language`` code fences of a Markdown file, in order."""
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


def test_the_distribution_is_aio_observer_and_the_command_is_observer() -> None:
    assert PROJECT["name"] == "aio-observer"
    assert PROJECT["scripts"] == {"observer": "observer.cli:main"}
    assert PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["observer"]


def test_classifiers_name_every_supported_python_and_the_typing() -> None:
    classifiers = set(PROJECT["classifiers"])
    for version in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}" in classifiers
    for wanted in ("Framework :: AsyncIO", "Typing :: Typed", "Environment :: Console"):
        assert wanted in classifiers
    # PEP 639: the licence is the SPDX expression alone; the index rejects a licence classifier beside it.
    assert PROJECT["license"] == "MIT"
    assert not [classifier for classifier in classifiers if classifier.startswith("License ::")]


def test_the_package_is_marked_typed() -> None:
    assert (ROOT / "observer" / "py.typed").is_file()


def test_the_extras_are_the_documented_ones() -> None:
    extras = PROJECT["optional-dependencies"]
    assert set(extras) == {"test", "dev", "docs", "metrics", "web"}
    assert "aio-observer[metrics,web]" in extras["test"], "the README's test command must run the whole suite"
    assert {"build", "twine"} <= {re.split(r"[<>=\[ ]", requirement)[0] for requirement in extras["dev"]}


def test_the_installed_distribution_matches_pyproject() -> None:
    distribution = importlib.metadata.distribution("aio-observer")
    assert distribution.version == PROJECT["version"]
    scripts = {entry.name: entry.value for entry in distribution.entry_points if entry.group == "console_scripts"}
    assert scripts == {"observer": "observer.cli:main"}


def section(path: Path, heading: str) -> str:
    """The text of a Markdown file under a ``## heading``, up to the next such heading."""
    text = path.read_text()
    assert f"\n## {heading}\n" in text, f"{path.name} has no section {heading!r}"
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_quickstart_repeats_the_readmes_commands_and_example() -> None:
    readme, quickstart = ROOT / "README.md", DOCS / "quickstart.md"
    assert fences(quickstart, "bash")[0] == fences(readme, "bash")[0], "copy the README's commands into the quickstart"
    five_minutes = "The runtime in five minutes"
    example = re.findall(r"```python\n(.*?)```", section(readme, five_minutes), re.S)[0]
    assert example in fences(quickstart, "python"), "copy the README's five-minute example into the quickstart"


def test_the_drill_format_reference_has_every_field() -> None:
    reference = (DOCS / "drills.md").read_text()
    documented = set(re.findall(r"^\| `(\w+)` \|", reference, re.M))
    tables = {field for table in toml_drill._TABLES.values() for field in table}
    fields = {"name", "description", *toml_drill._STEP_FIELDS, *tables}
    missing = sorted(fields - documented)
    assert not missing, f"docs/drills.md has no table row (| `field` | ...) for the drill file field(s) {missing}"
