"""The README cannot drift: every setting, environment variable and command is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from harvester.cli import cli
from harvester.config import SECTIONS, Settings

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
