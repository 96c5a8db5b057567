"""The README keeps its promises: the two commands, and the settings table as declared."""

from __future__ import annotations

import re
from pathlib import Path

from dashboard.settings import markdown_table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
VARIABLE = re.compile(r"\bPLENARY_[A-Z0-9_]+\*?")


def test_the_readme_opens_with_the_two_commands():
    commands = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(commands) == 2
    assert commands[0].endswith("plenary run")
    assert "pytest" in commands[1]
    assert README.index("```sh") < README.index("## ")


def test_the_configuration_table_is_generated_from_the_settings():
    assert markdown_table() in README


def test_every_variable_the_docs_name_is_one_something_reads() -> None:
    """A variable named in the README or docs/ is read by the service, a test, the
    benchmark or the deployment files (a misspelt or imagined one is a wrong promise)."""
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {v for path in docs for v in VARIABLE.findall(path.read_text())}
    sources = [*ROOT.glob("dashboard/**/*.py"), *ROOT.glob("workers/**/*.py"),
               *ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py"),
               *(p for p in (ROOT / "deploy").iterdir() if p.is_file()),
               ROOT / "docker-compose.yml", ROOT / "Dockerfile"]
    read = {v for path in sources for v in VARIABLE.findall(path.read_text(errors="replace"))}
    assert sorted(named - read) == []
