"""The README cannot drift: every setting, environment variable and command is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from harvester.cli.main import cli
from harvester.config.settings import SECTIONS, Settings
from harvester.sources import FILE_FORMATS, SOURCES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _settings() -> list[tuple[str, str]]:
    rows = [(f"`{name}`", f"HARVESTER_{name.upper()}") for name in ("queries", "timezone")]
    for section, model in SECTIONS.items():
        for key in model.model_fields:
            rows.append((f"`[{section}] {key}`", f"HARVESTER_{section.upper()}__{key.upper()}"))
    return rows


@pytest.mark.parametrize(("setting", "env"), _settings())
def test_every_setting_is_in_the_configuration_table(setting: str, env: str) -> None:
    assert f"| {setting} | `{env}` |" in README


def test_top_level_settings_are_all_covered() -> None:
    documented = {"queries", "timezone", "config_file", *SECTIONS}
    assert set(Settings.model_fields) == documented


def _commands(group: click.Group, prefix: str = "harvester") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
        else:
            names.append(f"{prefix} {name}")
    return names


@pytest.mark.parametrize("command", _commands(cli))
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"`{command}" in README


def test_readme_has_exactly_two_setup_commands() -> None:
    section = README.split("## Set up", 1)[1].split("##", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    assert len([line for line in block.splitlines() if line.strip()]) == 2


@pytest.mark.parametrize("name", list(SOURCES))
def test_every_source_is_listed_in_the_readme(name: str) -> None:
    assert f"- `{name}`: {SOURCES[name].summary}\n" in README


@pytest.mark.parametrize("name", list(FILE_FORMATS))
def test_every_import_format_is_listed_in_the_readme(name: str) -> None:
    assert f"- `{name}`: {FILE_FORMATS[name].summary}\n" in README


def test_harvest_help_lists_the_registered_sources() -> None:
    result = CliRunner().invoke(cli, ["harvest", "--help"])
    for name, info in SOURCES.items():
        assert name in result.output and info.summary.split(":")[0] in result.output
