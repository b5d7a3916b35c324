"""The bulletin's entries as RIS or CSL-JSON for reference managers, through the export writers
(:mod:`harvester.render.export`), in the bulletin's order."""

from __future__ import annotations

import io

from harvester.core.bulletin import BulletinDoc, BulletinItem
from harvester.core.layout import ordered_items
from harvester.core.models import CITATION_FIELDS, DatePrecision, PubDate
from harvester.render.export import ExportItem, write_export

__all__ = ["render_references", "summary_text"]


def summary_text(item: BulletinItem) -> str | None:
    """The summary shown in the bulletin as plain text, labels before their parts."""
    parts = [f"{s.label}: {s.text}" if s.label else s.text for s in item.summary()]
    return "\n\n".join(parts) or None


def render_references(doc: BulletinDoc, fmt: str) -> str:
    """RIS (``fmt="ris"``) or CSL-JSON (``fmt="csljson"``) of the entries."""
    if fmt not in ("ris", "csljson"):
        raise ValueError(f"unknown reference format {fmt!r}")
    out = io.StringIO()
    write_export([_export_item(item) for item in ordered_items(doc)], fmt, out)
    return out.getvalue()


def _export_item(item: BulletinItem) -> ExportItem:
    fields = {name: getattr(item, name) for name in CITATION_FIELDS}
    fields["pub_date"] = item.pub_date or _day(item)
    return ExportItem(work_id=item.work_id, kind=item.kind, abstract=summary_text(item), **fields)


def _day(item: BulletinItem) -> PubDate | None:
    """A news item's date from its publication time."""
    at = item.published_at
    if at is None:
        return None
    return PubDate(year=at.year, month=at.month, day=at.day, precision=DatePrecision.DAY)
