"""CSL-JSON items to Hits, keeping what is valid of values of the wrong type (see
:mod:`harvester.sources.importers`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from harvester.core.errors import ImportFormatError
from harvester.core.models import (
    Author,
    Hit,
    PubDate,
    WorkKind,
)
from harvester.core.normalise import normalise_doi, normalise_pmcid, normalise_pmid
from harvester.sources.import_common import (
    _PMID_NOTE,
    _YEAR_MONTH_DAY,
    _abstract,
    _article_or_other,
    _date,
    _kept,
    _pub_date,
    _Read,
    _shown,
    _source_id,
    _text,
    _title,
)

_CSL_NEWS = frozenset({"article-newspaper", "article-magazine"})


_CSL_ARTICLE = frozenset({"article-journal", "article", "review"})


def _read_csljson(path: Path, handle: BinaryIO, encoding: str) -> Iterator[_Read]:
    try:
        with _text(handle, encoding) as text:
            document = json.load(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None
    except RecursionError:
        raise ImportFormatError(
            f"{path}: JSON nested too deeply to be CSL-JSON (a list of flat records)"
        ) from None
    items = document if isinstance(document, list) else [document]
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            yield number, None, [f"not a CSL-JSON object ({_shown(item)}); skipped"]
            continue
        notes: list[str] = []
        folded = {str(key).casefold(): value for key, value in item.items()}
        yield number, _kept(_csl_hit(path, folded, notes), notes), notes


def _csl_hit(path: Path, item: dict[str, Any], notes: list[str]) -> Hit:
    """``item`` has its keys case-folded: exporters write ``DOI`` or ``doi``, ``URL`` or ``url``.

    A value of the wrong type is dropped (and noted), never stored as its Python repr.
    """

    def text(key: str, *, numeric: bool = False) -> str | None:
        return _csl_text(item, key, notes, numeric=numeric)

    title = text("title")
    doi = normalise_doi(text("doi"))
    note = _PMID_NOTE.search(text("note") or "")  # Zotero's "PMID: 123"
    pmid = normalise_pmid(text("pmid", numeric=True) or (note.group(1) if note else None))
    ctype = item.get("type") if isinstance(item.get("type"), str) else ""
    abstract = text("abstract")
    pub_date = _csl_date(item.get("issued"), "issued", notes)
    if pub_date is None:
        pub_date = _csl_date(item.get("published-print"), "published-print", notes)
    return Hit(
        source="import:csljson",
        source_id=_source_id(item.get("id"), item),
        origin=path.name,
        title=_title(title),
        kind=WorkKind.NEWS if ctype in _CSL_NEWS else _article_or_other(ctype in _CSL_ARTICLE),
        authors=_csl_authors(item.get("author"), notes),
        journal=text("container-title"),
        journal_iso=text("container-title-short"),
        volume=text("volume", numeric=True),
        issue=text("issue", numeric=True),
        pages=text("page", numeric=True) or text("page-first", numeric=True),
        pub_date=pub_date,
        doi=doi,
        pmid=pmid,
        pmcid=normalise_pmcid(text("pmcid")),
        url=text("url"),
        abstract=_abstract(abstract),
        language=text("language"),
        source_name=text("publisher"),
    )


def _csl_text(
    item: dict[str, Any], key: str, notes: list[str], *, numeric: bool = False
) -> str | None:
    """A CSL string variable: a string, or (Crossref's dialect) a list of strings, of which the
    first is taken; a number too where CSL allows one (``numeric``: volume, issue, page)."""
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = next((v for v in value if v.strip()), "")
    if isinstance(value, int | float) and not isinstance(value, bool) and numeric:
        value = str(value)
    if not isinstance(value, str):
        notes.append(f"{key} is not text ({_shown(value)}); dropped")
        return None
    return value.strip() or None


def _csl_authors(value: Any, notes: list[str]) -> list[Author]:
    """CSL name objects: ``family``/``given`` (with particles) or a ``literal`` name."""
    if value is None:
        return []
    if not isinstance(value, list):
        notes.append(f"author is not a list of names ({_shown(value)}); dropped")
        return []
    authors = []
    for position, person in enumerate(value, 1):
        if not isinstance(person, dict):
            notes.append(f"author {position} is not a name object ({_shown(person)}); dropped")
            continue
        parts: dict[str, str] = {}
        wrong = []
        for key in ("non-dropping-particle", "family", "given", "literal", "suffix"):
            part = person.get(key)
            if isinstance(part, str):
                if part.strip():
                    parts[key] = part.strip()
            elif part is not None:
                wrong.append(f"{key} {_shown(part)}")
        family = " ".join(parts[k] for k in ("non-dropping-particle", "family") if k in parts)
        if parts.get("literal") and not family:
            author = Author(collective=parts["literal"])
        elif family or parts.get("given"):
            author = Author(family=family or None, given=parts.get("given"))
        else:
            author = None
        if wrong:
            what = "; author dropped" if author is None else ""
            notes.append(f"author {position}: not text, dropped: {', '.join(wrong)}{what}")
        if author is not None:
            authors.append(author)
    return authors


def _csl_date(value: Any, key: str, notes: list[str]) -> PubDate | None:
    """``{"date-parts": [[2020, 5]]}`` (numbers or strings), else its ``raw`` or ``literal``
    ("2020-05-01", "May 2020"); some exporters write the date as a plain string."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"raw": value}
    if not isinstance(value, dict):
        notes.append(f"{key} is not a date ({_shown(value)}); dropped")
        return None
    parts = value.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        numbers = [
            int(p) for p in parts[0] if isinstance(p, int | str) and str(p).strip().isdigit()
        ]
        if numbers and len(numbers) == len(parts[0]):
            return _pub_date(*numbers[:3], shown=_shown(parts[0]), notes=notes)
    raw = value.get("raw") or value.get("literal") or ""
    if isinstance(raw, str) and _YEAR_MONTH_DAY.match(raw):
        return _date(raw, notes)
    year = re.search(r"\b(\d{4})\b", raw) if isinstance(raw, str) else None
    if year:
        return _pub_date(int(year.group(1)), shown=repr(raw), notes=notes)
    if raw or parts is not None:
        notes.append(f"{key} is not a date ({_shown(value)}); dropped")
    return None
