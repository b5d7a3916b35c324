"""The topic registry: topic files loaded once, reloaded when one changes.

A long-running process (the web app, the scheduler) asks the registry for a topic each time it
needs one; the registry re-reads the folder only when a file was added, removed or changed.
"""

from __future__ import annotations

import threading
from pathlib import Path

from harvester.config.settings import Topic, load_topics
from harvester.core.errors import NotFoundError

__all__ = ["TopicRegistry"]


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
