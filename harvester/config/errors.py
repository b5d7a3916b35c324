"""Reading settings and topic files, and saying where they are wrong: the file, the line and
the key (or the environment variable), and what was expected, in one line."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from harvester.core.errors import ConfigError

__all__ = ["ENV_PREFIX", "config_error", "env_error", "find_line", "parse_toml", "read_toml"]

#: Environment variables that set harvester's settings start with this.
ENV_PREFIX = "HARVESTER_"


def read_toml(file: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot be read ({exc})") from None
    return text, parse_toml(text, str(file))


def parse_toml(text: str, origin: str) -> dict[str, Any]:
    """``text`` as TOML; a :class:`ConfigError` naming ``origin`` and the line otherwise."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"{origin} line {match.group(1)}" if match else origin
        raise ConfigError(f"{where}: not valid TOML: {reason}") from None


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]#]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)


def _split_key(raw: str) -> list[str]:
    return [
        part.strip().strip("\"'")
        for part in re.split(r"\.(?=(?:[^\"']|\"[^\"]*\"|'[^']*')*$)", raw)
    ]


def find_line(text: str, loc: Iterable[str | int]) -> int | None:
    """The 1-based line of ``loc`` (a pydantic error location) in TOML ``text``, best effort.

    Tables (``[a.b]``) and arrays of tables (``[[feeds]]``, counted) are followed, so
    ``("feeds", 1, "url")`` finds the ``url =`` line of the second ``[[feeds]]`` block. When the key
    itself is absent (a missing field) the line of its table header is returned.
    """
    want = [str(p) for p in loc]
    table: list[str] = []
    counters: dict[tuple[str, ...], int] = {}
    best: tuple[int, int] | None = None  # (matched length, line)
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            names = _split_key(header.group(2))
            if header.group(1) == "[[":
                key = tuple(names)
                counters[key] = counters.get(key, -1) + 1
                table = [*names, str(counters[key])]
            else:
                table = _with_indexes(names, counters)
            path = table
        else:
            key_match = _KEY.match(line)
            if not key_match:
                continue
            path = [*table, *_split_key(key_match.group(1))]
        length = _prefix_len(path, want)
        if length == len(path) and (best is None or length > best[0]):
            best = (length, number)
            if length == len(want):
                return number
    return best[1] if best else None


def _with_indexes(names: list[str], counters: dict[tuple[str, ...], int]) -> list[str]:
    """``[bulletin.x]`` inside the current ``[[bulletin]]`` item gets that item's index."""
    out: list[str] = []
    for name in names:
        out.append(name)
        index = counters.get(tuple(p for p in out if not p.isdigit()))
        if index is not None:
            out.append(str(index))
    return out


def _prefix_len(path: list[str], want: list[str]) -> int:
    n = 0
    for a, b in zip(path, want, strict=False):
        if a != b:
            break
        n += 1
    return n


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    given = error.get("input")
    expected = {
        "int_parsing": "an integer",
        "int_type": "an integer",
        "float_parsing": "a number",
        "float_type": "a number",
        "bool_parsing": "true or false",
        "bool_type": "true or false",
        "string_type": "a string",
        "list_type": "a list",
        "model_type": "a table",
        "dict_type": "a table",
        "missing": "a value (it is required)",
        "extra_forbidden": None,
    }
    if kind == "extra_forbidden":
        return "is not a known key"
    if kind in expected:
        text = f"must be {expected[kind]}"
    else:
        message = str(error.get("msg", "is invalid"))
        message = re.sub(r"^Value error, ", "", message)
        text = f"must be {message}" if kind == "value_error" else message.lower()
    if kind != "missing" and "got " not in text and not isinstance(given, dict | list):
        text += f", got {given!r}"
    return text


def config_error(
    file: Path, text: str, exc: ValidationError, *, env_prefix: str | None = None
) -> ConfigError:
    error = exc.errors()[0]
    loc = [p for p in error["loc"] if p not in ("function-after", "function-before")]
    keys = [str(p) for p in loc if not isinstance(p, int)]
    if len(keys) >= 2:
        label = f"[{'.'.join(keys[:-1])}] {keys[-1]}"
    elif keys:
        label = keys[0]
    else:
        label = "file"
    # The environment wins over the file: a key an environment variable sets is blamed on the
    # variable, never on the line of the file it overrides.
    env_name = _env_variable(env_prefix, keys) if env_prefix else None
    if env_name is not None:
        where = f"environment variable {env_name}"
    else:
        line = find_line(text, loc) if text else None
        where = f"{file} line {line}" if line else str(file)
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return ConfigError(f"{where}: {label} {_describe(error)}{suffix}")


def _env_variable(prefix: str, keys: Sequence[str]) -> str | None:
    """The environment variable that set ``keys`` (``HARVESTER_PUBMED__BATCH_SIZE``, or a whole
    section as JSON, ``HARVESTER_PUBMED``), matched without regard to case as pydantic-settings
    does; None when the value came from the file."""
    names = {name.upper(): name for name in os.environ if name.upper().startswith(prefix)}
    for length in range(len(keys), 0, -1):
        wanted = prefix + "__".join(k.upper() for k in keys[:length])
        if wanted in names:
            return names[wanted]
    return None


def env_error(exc: SettingsError) -> ConfigError:
    match = re.search(r'field "(\w+)"', str(exc))
    field = match.group(1) if match else ""
    name = _env_variable(ENV_PREFIX, [field]) if field else None
    if name is None:
        return ConfigError(f"environment: {exc}")
    return ConfigError(
        f"environment variable {name}: not valid JSON for the [{field}] section",
        hint=f"set one key at a time instead, e.g. {ENV_PREFIX}{field.upper()}__<KEY>",
    )
