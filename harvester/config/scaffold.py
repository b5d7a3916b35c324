"""Starter files written by `harvester init`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

STARTER_SETTINGS = """\
# harvester settings. Every key can be overridden by an environment variable
# HARVESTER_<SECTION>__<KEY>, e.g. HARVESTER_DATABASE__URL. Secrets are read from the
# environment only: HARVESTER_PUBMED__API_KEY, HARVESTER_SMTP__PASSWORD, HARVESTER_WEB__SECRET_KEY.

# Topic files (one per topic) live in this folder.
queries = "queries"

[database]
# SQLite by default; for PostgreSQL: "postgresql+psycopg://user@host/dbname"
url = "sqlite:///harvester.db"

[pubmed]
# NCBI asks for a contact address with every E-utilities request.
email = "library@example.org"
tool = "harvester"
batch_size = 200
overlap_days = 3

[feeds]
concurrency = 8
failing_after = 3

[smtp]
# No host: each weekly digest is written to the outbox folder as an .eml file.
# host = "smtp.example.org"
# port = 587
# starttls = true
# username = "harvester@example.org"   # the password: HARVESTER_SMTP__PASSWORD
sender = "harvester@example.org"
outbox = "outbox"

[web]
host = "127.0.0.1"
port = 8080
"""


def example_topic() -> str:
    """The shipped example topic (inside the wheel, or queries/ in a source checkout)."""
    here = Path(__file__).resolve().parents[1]  # the harvester package
    for candidate in (
        here / "_examples" / "social-prescribing.toml",
        here.parent / "queries" / "social-prescribing.toml",
    ):
        if candidate.exists():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError("the example topic is missing from this installation")


def write_starter_files(directory: Path) -> Iterator[tuple[Path, bool]]:
    """Write harvester.toml and queries/social-prescribing.toml unless they exist.

    Yields each path with whether it was written (False: an existing file was kept).
    """
    settings = directory / "harvester.toml"
    yield settings, _write_new(settings, STARTER_SETTINGS)
    queries = directory / "queries"
    queries.mkdir(exist_ok=True)
    topic = queries / "social-prescribing.toml"
    yield topic, _write_new(topic, example_topic())


def _write_new(path: Path, text: str) -> bool:
    if path.exists():
        return False
    path.write_text(text, encoding="utf-8")
    return True
