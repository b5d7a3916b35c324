"""A topic's bulletin document from its ``[bulletin]`` settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from harvester.core.bulletin import BulletinDoc, BulletinItem, Logo, Resource, SectionSpec
from harvester.core.errors import BulletinError
from harvester.core.models import WorkKind

if TYPE_CHECKING:
    from harvester.config.settings import Topic

__all__ = ["LOGO_LIMIT", "doc_for_topic", "read_logo"]

#: The largest logo embedded in a bulletin (it travels inside every e-mail and file).
LOGO_LIMIT = 512 * 1024
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def read_logo(topic: Topic) -> Logo | None:
    """The topic's ``[bulletin] logo`` read from disk (relative to the topic file), checked to be
    a PNG, JPEG or GIF of at most :data:`LOGO_LIMIT` bytes."""
    settings = topic.bulletin
    if not settings.logo:
        return None
    path = Path(settings.logo).expanduser()
    if not path.is_absolute() and topic.path is not None:
        path = topic.path.parent / path
    where = f"{topic.path or topic.slug}: [bulletin] logo"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BulletinError(f"{where}: cannot read {path} ({exc.strerror or exc})") from None
    if len(data) > LOGO_LIMIT:
        raise BulletinError(f"{where}: {path} is {len(data)} bytes, more than {LOGO_LIMIT}")
    media_type = next((kind for magic, kind in _SIGNATURES if data.startswith(magic)), None)
    if media_type is None:
        raise BulletinError(f"{where}: {path} is not a PNG, JPEG or GIF image")
    return Logo(data, media_type, settings.logo_alt or settings.title or topic.name)


def doc_for_topic(
    topic: Topic,
    items: Sequence[BulletinItem],
    period_from: dt.date | None,
    period_to: dt.date | None,
    period_text: str | None = None,
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
        resources=tuple(
            Resource(r.label, r.url, r.link_text or settings.resources_link_text)
            for r in settings.resources
        ),
        resources_heading=settings.resources_heading,
        footer=settings.footer,
        contact=settings.contact,
        style=settings.style,
        items=tuple(items),
        period_text=period_text,
        logo=read_logo(topic),
        locale=settings.locale,
    )
