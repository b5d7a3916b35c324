"""Topics as the rest of the program asks for them (:class:`Topics`), and a topic's change in the
words of its settings (:func:`describe_change`)."""

from __future__ import annotations

from typing import Any, Protocol

from harvester.config.settings import Topic

__all__ = ["Topics", "describe_change"]


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
