"""harvester: current-awareness publishing for health library and knowledge teams."""

from __future__ import annotations

import functools


@functools.cache
def _version() -> str:
    # Read when first asked for: the package metadata's reader costs a command's start-up
    # tens of milliseconds that most commands never need.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("harvester")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "0.0.0"


def __getattr__(name: str) -> str:
    if name == "__version__":
        return _version()
    if name == "USER_AGENT":
        return f"harvester/{_version()} (+https://github.com/harvester-health/harvester)"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
