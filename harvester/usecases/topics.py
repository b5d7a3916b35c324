"""Topic files in and out of the database.

``apply_files`` creates or updates topics from topic files (a file or a folder of them): each
file is checked by the topic file rules and saved in its own transaction, so a file with an
error is refused with its file and line and every other file is still applied. Applying the
same files again changes nothing. ``export_topics`` gives each stored topic's document back as
the topic file it came from (or as it was last edited in the browser).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harvester.config.settings import parse_topic
from harvester.config.topics import describe_change
from harvester.core.errors import ConfigError, HarvesterError
from harvester.store import people
from harvester.store import topics as store
from harvester.store.db import Database

__all__ = ["Applied", "adopt_folder", "apply_files", "export_topics", "topic_files"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying one file did: ``outcome`` is created, updated, unchanged or refused."""

    path: Path
    slug: str | None
    outcome: str
    detail: str

    @property
    def line(self) -> str:
        if self.outcome == "refused":
            return f"refused {self.detail}"
        what = f"{self.outcome} topic {self.slug} from {self.path}"
        return f"{what}: {self.detail}" if self.detail and self.outcome == "updated" else what


def topic_files(paths: Iterable[Path]) -> list[Path]:
    """The topic files ``paths`` name: files as given, folders as their ``*.toml`` files."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(path.glob("*.toml")))
        elif path.exists():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such file or folder")
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def apply_files(
    db: Database,
    paths: Sequence[Path],
    *,
    actor: str,
    now: dt.datetime,
    dry_run: bool = False,
) -> list[Applied]:
    """Create or update a topic from each topic file of ``paths``; see the module's text."""
    results: list[Applied] = []
    seen: dict[str, Path] = {}
    for path in topic_files(paths):
        try:
            document = _read(path)
            topic = parse_topic(
                document, str(path), default_slug=path.stem.lower(), slug_from=path.name
            )
            if topic.slug in seen:
                raise ConfigError(
                    f"{path}: topic slug {topic.slug!r} is already used by {seen[topic.slug]}"
                )
            seen[topic.slug] = path
            if dry_run:
                with db.read() as session:
                    current = store.stored_topic(session, topic.slug)
                results.append(_planned(path, topic.slug, document, current))
                continue
            with db.write() as session:
                saved, outcome = store.save_topic(
                    session,
                    document,
                    actor=actor,
                    now=now,
                    origin=str(path),
                    slug=path.stem.lower(),
                )
                detail = ""
                if outcome == "updated":
                    detail = store.topic_changes(session, saved.slug, limit=1)[0].summary
            results.append(Applied(path, saved.slug, outcome, detail))
        except HarvesterError as exc:
            results.append(Applied(path, None, "refused", exc.message))
    return results


def _planned(path: Path, slug: str, document: str, current: store.StoredTopic | None) -> Applied:
    if current is None:
        return Applied(path, slug, "created", "")
    if current.document == document:
        return Applied(path, slug, "unchanged", "")
    try:
        before = parse_topic(current.document, f"topic {slug}", default_slug=slug)
    except HarvesterError:
        before = None
    after = parse_topic(document, str(path), default_slug=slug)
    return Applied(path, slug, "updated", describe_change(before, after))


def export_topics(db: Database, slug: str | None = None) -> list[store.StoredTopic]:
    """The stored topics (or the one ``slug``) with their documents."""
    with db.read() as session:
        if slug is None:
            return store.stored_topics(session)
        one = store.stored_topic(session, slug)
        if one is None:
            known = ", ".join(t.slug for t in store.stored_topics(session)) or "none"
            raise ConfigError(f"unknown topic {slug!r} (topics: {known})")
        return [one]


def adopt_folder(db: Database, folder: Path, *, now: dt.datetime) -> list[Applied]:
    """On a database that has never had a topic, apply the topic files of ``folder`` (an
    installation that kept its topics in files, or a first start); files with errors are logged
    and left. Once any topic was saved or removed, the database alone holds the topics."""
    with db.read() as session:
        if store.ever_had_topics(session) or not folder.is_dir():
            return []
    results = apply_files(db, [folder], actor="the topic files", now=now)
    adopted = [r.slug for r in results if r.slug is not None and r.outcome == "created"]
    if adopted:  # reviewers kept what they could see when topics were files
        with db.write() as session:
            people.grant_all(session, adopted)
    for result in results:
        if result.outcome == "refused":
            log.error("topic file not applied: %s", result.detail)
        else:
            log.info("%s", result.line)
    return results
