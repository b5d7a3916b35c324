"""A topic's bulletin document from its ``[bulletin]`` settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from harvester.core.bulletin import BulletinDoc, BulletinItem, Resource, SectionSpec
from harvester.core.models import WorkKind

if TYPE_CHECKING:
    from harvester.config.settings import Topic

__all__ = ["doc_for_topic"]


def doc_for_topic(
    topic: Topic,
    items: Sequence[BulletinItem],
    period_from: dt.date | None,
    period_to: dt.date | None,
) -> BulletinDoc:
    """The bulletin of ``topic`` from its ``[bulletin]`` settings."""
    settings = topic.bulletin
    return BulletinDoc(
        title=settings.title or topic.name.upper(),
        subtitle=settings.subtitle if settings.subtitle is not None else "Evidence Bulletin",
        period_from=period_from,
        period_to=period_to,
        sections=tuple(
            SectionSpec(s.title, tuple(WorkKind(k) for k in s.kinds)) for s in settings.sections
        ),
        resources=tuple(Resource(r.label, r.url) for r in settings.resources),
        resources_heading=settings.resources_heading,
        footer=settings.footer,
        contact=settings.contact,
        style=settings.style,
        items=tuple(items),
    )
