"""What the import readers share: text decoding, sighting ids, names, dates and the repairs
that keep a record (see :mod:`harvester.sources.importers`)."""

from __future__ import annotations

import calendar
import codecs
import dataclasses
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any, BinaryIO

from harvester.core.models import (
    NO_TITLE,
    AbstractSection,
    Author,
    DatePrecision,
    Hit,
    PubDate,
    WorkKind,
)
from harvester.core.text import abstract_sections

_YEAR_MONTH_DAY = re.compile(r"^\s*(\d{4})(?:[/-](\d{1,2}))?(?:[/-](\d{1,2}))?")


_PMID_NOTE = re.compile(r"\b(?:PMID|PubMed ID):?\s*(?:NLM)?(\d+)", re.IGNORECASE)


_FAMILY_INITIALS = re.compile(r"^(\S.*?)\s+([A-Z]{1,4})$")


_INITIALS_FAMILY = re.compile(r"^((?:[A-Z]\.[\s-]*)+)(\S.*)$")


_Read = tuple[int, Hit | None, list[str]]

#: The longest text one field of an imported record keeps (characters): some twenty times the
#: longest real abstracts. A longer value is cut, with a note under the record's number, as a
#: feed is cut at ``[feeds] max_bytes``; line-based formats never hold more than this of a line
#: in memory.
FIELD_CHARS = 100_000


def bounded_lines(text: IO[str], limit: int = FIELD_CHARS + 64) -> Iterator[tuple[str, int]]:
    """The lines of ``text``, each cut to ``limit`` characters, with each line's whole length
    (more than ``limit`` when it was cut). At most ``limit`` characters are held at a time."""
    while True:
        line = text.readline(limit)
        if not line:
            return
        if line.endswith("\n") or len(line) < limit:
            yield line, len(line.rstrip("\n"))
            continue
        total = len(line)
        while rest := text.readline(limit):
            total += len(rest.rstrip("\n"))
            if rest.endswith("\n"):
                break
        yield line, total


def capped_lines(
    lines: Iterable[tuple[str, int]], notes: dict[int, list[str]], *, starts: re.Pattern[str]
) -> Iterator[str]:
    """Lines whose value fits :data:`FIELD_CHARS`, a longer one cut and noted in ``notes``
    under its record's number (a record begins at a line matching ``starts``)."""
    number = 0
    for line, total in lines:
        if starts.match(line):
            number += 1
        # a tagged line is "XX  - value" (RIS) or "XXXX- value" (MEDLINE): six characters first
        if total <= FIELD_CHARS + 6:
            yield line
            continue
        tag = line[:6].split("-", 1)[0].strip() or "a"
        notes.setdefault(max(number, 1), []).append(
            f"{tag} field cut to {FIELD_CHARS:,} of its {total - 6:,} characters"
        )
        yield line[: FIELD_CHARS + 6] + "\n"


def capped(hit: Hit, notes: list[str]) -> Hit:
    """``hit`` with every text longer than :data:`FIELD_CHARS` cut, each cut noted."""
    for name in ("title", "journal", "journal_iso", "url", "summary_html", "source_name"):
        value = getattr(hit, name)
        if isinstance(value, str) and len(value) > FIELD_CHARS:
            notes.append(f"{name} cut to {FIELD_CHARS:,} of its {len(value):,} characters")
            setattr(hit, name, value[:FIELD_CHARS])
    sections = []
    for section in hit.abstract:
        if len(section.text) > FIELD_CHARS:
            notes.append(f"abstract cut to {FIELD_CHARS:,} of its {len(section.text):,} characters")
            section = dataclasses.replace(section, text=section.text[:FIELD_CHARS])
        sections.append(section)
    hit.abstract = sections
    for name in ("keywords", "publication_types", "mesh"):
        values = getattr(hit, name)
        if any(len(v) > FIELD_CHARS for v in values):
            notes.append(f"{name}: a value over {FIELD_CHARS:,} characters cut")
            setattr(hit, name, [v[:FIELD_CHARS] for v in values])
    return hit


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def _windows_1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a byte that is not UTF-8 is read as Windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("cp1252", "replace"), error.end


codecs.register_error("harvester-cp1252", _windows_1252)


def _text(handle: BinaryIO, encoding: str) -> io.TextIOWrapper:
    """The file as text with universal newlines (CRLF and CR become LF)."""
    return io.TextIOWrapper(handle, encoding=encoding, errors="harvester-cp1252", newline=None)


def _source_id(own_id: Any, content: Any) -> str:
    """The sighting id of one RIS or CSL-JSON record (see the module docstring)."""
    serial = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha1(serial.encode(), usedforsecurity=False).hexdigest()
    own = str(own_id).strip() if isinstance(own_id, str | int) else ""
    return f"{own}#{digest[:16]}" if own else f"sha1:{digest[:20]}"


def _name(text: str) -> Author:
    """A personal name as exports write it: "Smith, John" (most), "Smith JA" (Ovid, MEDLINE
    style) or "J. A. Smith"; anything else (a corporate author) is kept whole."""
    text = text.strip()
    if "," in text:
        family, given = (part.strip() for part in text.split(",", 1))
        return Author(family=family or None, given=given or None)
    if match := _FAMILY_INITIALS.match(text):
        return Author(family=match.group(1), initials=match.group(2))
    if match := _INITIALS_FAMILY.match(text):
        return Author(family=match.group(2), given=match.group(1).strip())
    return Author(family=text)


def _first(record: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = record.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value and str(value).strip():
            return str(value).strip()
    return None


def _article_or_other(is_article: bool) -> WorkKind:
    return WorkKind.ARTICLE if is_article else WorkKind.OTHER


def _date(value: Any, notes: list[str]) -> PubDate | None:
    """ "2020", "2020///", "2020/05/01/" (RIS) or "2020-05-01"."""
    text = str(value or "").strip()
    match = _YEAR_MONTH_DAY.match(text)
    if not match:
        if text and not text.strip("/-"):
            return None
        if text:
            notes.append(f"date {text!r} is not a date; dropped")
        return None
    month = int(match.group(2)) if match.group(2) else None
    day = int(match.group(3)) if match.group(3) else None
    return _pub_date(int(match.group(1)), month, day, shown=repr(text), notes=notes)


def _pub_date(
    year: int,
    month: int | None = None,
    day: int | None = None,
    *,
    shown: str = "",
    notes: list[str] | None = None,
) -> PubDate | None:
    """The date, cut back to the precision that exists (2021/02/30 keeps 2021-02; a month 13
    keeps the year); each cut is noted in ``notes``."""
    where = f"date {shown}" if shown else "date"
    if not 1000 <= year <= 2999:
        _note(notes, f"{where} has no usable year; dropped")
        return None
    if month is not None and not 1 <= month <= 12:
        _note(notes, f"{where} has no month {month}; kept the year {year}")
        month = day = None
    if month is not None and day is not None:
        last = calendar.monthrange(year, month)[1]
        if not 1 <= day <= last:
            _note(notes, f"{where} does not exist; kept {year:04d}-{month:02d}")
            day = None
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return PubDate(year, month, day if month else None, precision)


def _note(notes: list[str] | None, message: str) -> None:
    if notes is not None:
        notes.append(message)


def _abstract(text: Any) -> list[AbstractSection]:
    """An abstract as plain text, kept in its paragraphs with their labels."""
    if not isinstance(text, str):
        return []
    return [AbstractSection(text=part, label=label) for label, part in abstract_sections(text)]


def _title(title: str | None) -> str:
    """The title, or :data:`NO_TITLE` (a placeholder read back from an export counts as none)."""
    if title and title.strip() and title.strip() != NO_TITLE:
        return title.strip()
    return NO_TITLE


def _kept(hit: Hit, notes: list[str]) -> Hit | None:
    """``hit``, or None when it holds nothing to keep; a title-less record says what it has."""
    if hit.title != NO_TITLE:
        return hit
    has = [
        label
        for label, present in (
            ("authors", hit.authors),
            ("journal", hit.journal),
            ("year", hit.pub_date),
            ("DOI", hit.doi),
            ("PMID", hit.pmid),
            ("URL", hit.url),
            ("abstract", hit.abstract),
        )
        if present
    ]
    if not has:
        notes.append(
            "no title and nothing else to keep (authors, journal, year, identifier); skipped"
        )
        return None
    kept = ", ".join(has[:-1]) + f" and {has[-1]}" if len(has) > 1 else has[0]
    notes.append(f"no title; kept with {kept}")
    return hit


def _shown(value: Any) -> str:
    """A wrong value as a short repr for a problem line."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:39] + "…"
