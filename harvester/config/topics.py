"""The topic registry: topic files loaded once, reloaded when one changes.

A long-running process (the web app, the scheduler) asks the registry for a topic each time it
needs one; the registry re-reads the folder only when a file was added, removed or changed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from harvester.config.settings import Topic, load_topics
from harvester.core.errors import NotFoundError

__all__ = ["TopicRegistry", "Topics", "describe_change"]


class TopicRegistry:
    """The topics of one folder (``Settings.queries_dir``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._stamp: tuple[tuple[str, int, int], ...] | None = None
        self._topics: dict[str, Topic] = {}

    def _current_stamp(self) -> tuple[tuple[str, int, int], ...]:
        if not self.folder.is_dir():
            return ()
        stamps = []
        for file in sorted(self.folder.glob("*.toml")):
            try:
                stat = file.stat()
            except FileNotFoundError:
                continue
            stamps.append((file.name, stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)

    def _refresh(self) -> dict[str, Topic]:
        stamp = self._current_stamp()
        with self._lock:
            if stamp != self._stamp:
                self._topics = {t.slug: t for t in load_topics(self.folder)}
                self._stamp = stamp
            return self._topics

    def all(self) -> list[Topic]:
        """Every topic, sorted by slug."""
        return list(self._refresh().values())

    def slugs(self) -> list[str]:
        return list(self._refresh())

    def get(self, slug: str) -> Topic:
        """The topic ``slug``; :class:`NotFoundError` naming the known ones otherwise."""
        topics = self._refresh()
        if slug not in topics:
            known = ", ".join(topics) or "none"
            raise NotFoundError(f"unknown topic {slug!r} (topics: {known})")
        return topics[slug]


class Topics(Protocol):
    """What asks for topics needs: every topic, the slugs, one topic by slug."""

    def all(self) -> list[Topic]: ...

    def slugs(self) -> list[str]: ...

    def get(self, slug: str) -> Topic: ...


_LABELS = {
    "topic.name": "name",
    "pubmed.query": "PubMed query",
    "europepmc.query": "Europe PMC query",
    "match.phrases": "phrases",
    "match.exclude": "excluded phrases",
    "schedule.harvest": "harvest schedule",
    "schedule.digest": "digest schedule",
    "digest.recipients": "digest recipients",
    "feeds": "feeds",
}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "none"
    if value is None or value == "":
        return "none"
    return " ".join(str(value).split())


def describe_change(before: Topic | None, after: Topic | None) -> str:
    """What a change did to a topic, in the words of its settings ("phrases added: green
    prescri*; feeds removed: BBC News - Health"), for the topic's history."""
    if after is None:
        return "topic removed"
    if before is None:
        return f"topic created: {after.name}"
    old = _flatten(before.model_dump(mode="json", exclude={"path"}))
    new = _flatten(after.model_dump(mode="json", exclude={"path"}))
    parts: list[str] = []
    for key in sorted(set(old) | set(new)):
        was, now = old.get(key), new.get(key)
        if was == now:
            continue
        label = _LABELS.get(key, key.replace(".", " ").replace("_", " "))
        if key == "feeds":
            was_names = {f["url"]: f.get("name") or f["url"] for f in was or []}
            now_names = {f["url"]: f.get("name") or f["url"] for f in now or []}
            added = [now_names[u] for u in now_names if u not in was_names]
            removed = [was_names[u] for u in was_names if u not in now_names]
            if added:
                parts.append(f"feeds added: {', '.join(added)}")
            if removed:
                parts.append(f"feeds removed: {', '.join(removed)}")
            if not added and not removed:
                parts.append("feed settings changed")
        elif isinstance(was, list) and isinstance(now, list):
            added_items = [v for v in now if v not in was]
            removed_items = [v for v in was if v not in now]
            if added_items:
                parts.append(f"{label} added: {_shown(added_items)}")
            if removed_items:
                parts.append(f"{label} removed: {_shown(removed_items)}")
            if not added_items and not removed_items:
                parts.append(f"{label} reordered")
        elif key in ("pubmed.query", "europepmc.query"):
            parts.append(f"{label} changed from “{_shown(was)}” to “{_shown(now)}”")
        else:
            parts.append(f"{label}: {_shown(was)} → {_shown(now)}")
    return "; ".join(parts) or "no change"
