"""The README keeps its promises: the two commands, and the settings table as declared."""

from __future__ import annotations

from pathlib import Path

from dashboard.settings import markdown_table

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_the_readme_opens_with_the_two_commands():
    commands = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert len(commands) == 2
    assert commands[0].endswith("plenary run")
    assert "pytest" in commands[1]
    assert README.index("```sh") < README.index("## ")


def test_the_configuration_table_is_generated_from_the_settings():
    assert markdown_table() in README
