"""harvester: current-awareness publishing for health library and knowledge teams."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("harvester")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

USER_AGENT = f"harvester/{__version__} (+https://github.com/harvester-health/harvester)"
