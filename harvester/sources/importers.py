"""Import files to Hits: RIS, CSL-JSON, PubMed XML and MEDLINE (``.nbib``).

A librarian loads past bulletins or a manual database export; every record becomes a Hit with
``source`` "import:<format>", ``origin`` the file name and ``source_id`` naming that one input
record, so that no two different records ever share a sighting and importing the same file twice
finds the same sightings and changes nothing:

- MEDLINE and PubMed XML: the PMID (a PubMed record is that record, whatever its revision);
- RIS and CSL-JSON: the record's own id (RIS ``ID``, else ``AN``; CSL ``id``) joined by ``#`` to a
  digest of the record's whole content, else ``sha1:`` and the digest alone. Reference managers
  number records per library or per export (EndNote ``ID  - 1``) and exports are routinely saved
  under the same name (``savedrecs.ris``), so the id alone could name two different records; the
  digest keeps them apart while :func:`record_id` still gives the id the user's file carries.

The format comes from the file's first bytes, else its extension (a PubMed export saved as
``.txt`` is still MEDLINE). Text is UTF-8 (with or without a BOM) or UTF-16 with a BOM (EndNote);
bytes that are not UTF-8 are read as Windows-1252, the other encoding exports come in. A file
that cannot be read, or holds no records, raises :class:`ImportFormatError` naming the file and,
where it applies, the record. PubMed XML is read by :mod:`harvester.sources.pubmed_xml`, the
parser harvests use; RIS, MEDLINE and XML are read as streams.

A file is never refused for a record that can be kept. Real exports hold records without a title
(conference abstracts, letters), dates that do not exist (``PY  - 2021/02/30/``) and, in CSL-JSON
written by hand or by scripts, values of the wrong type (``"title": 12345``, ``"family":
["Doe"]``). Such a record is kept with what is valid: a title-less record gets the placeholder
:data:`NO_TITLE`, an impossible date keeps the precision that is valid (2021-02 from 2021/02/30), a
value of the wrong type is dropped rather than stored as its Python repr; and each repair is
reported as an :class:`~harvester.core.models.ImportProblem` with the record's number. A record with
nothing to keep at all (no title, author, journal, year or identifier) is skipped and reported.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from harvester.core.errors import ImportFormatError
from harvester.core.models import NO_TITLE, Hit, ImportProblem
from harvester.sources import FILE_FORMATS
from harvester.sources.import_common import _encoding, _Read, capped

__all__ = ["FORMATS", "NO_TITLE", "ReadTally", "detect_format", "read_records", "record_id"]


#: The formats, from the registry (:data:`harvester.sources.FILE_FORMATS`).
FORMATS = tuple(FILE_FORMATS)
_EXTENSIONS = {ext: fmt.name for fmt in FILE_FORMATS.values() for ext in fmt.extensions}
_SNIFF_BYTES = 4096
_RIS_START = re.compile(r"^TY {1,2}-", re.MULTILINE)
_NO_RECORDS_HINTS = {
    "ris": "each RIS record starts with 'TY  - '",
    "csljson": "CSL-JSON is a list of objects",
    "pubmed-xml": "PubMed XML holds PubmedArticle elements",
    "medline": "each MEDLINE record starts with 'PMID- '",
}


def detect_format(path: Path, head: bytes) -> str:
    """The import format of ``path`` from its first bytes, else from its extension."""
    text = head.decode(_encoding(head), "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "pubmed-xml"
    if text.startswith(("[", "{")):
        return "csljson"
    if _RIS_START.search(text):  # after a header such as EBSCO's "Provider: ..." lines
        return "ris"
    if text.startswith("PMID-"):
        return "medline"
    by_extension = _EXTENSIONS.get(path.suffix.lower())
    if by_extension is None:
        raise ImportFormatError(
            f"{path}: unknown import format (expected "
            f"{', '.join(fmt.label for fmt in FILE_FORMATS.values())})",
            hint="RIS starts with 'TY  - ', MEDLINE with 'PMID- ', CSL-JSON with '[', XML with '<'",
        )
    return by_extension


@dataclass
class ReadTally:
    """What one reading of a file met: every record (kept or skipped) and the PMIDs of PubMed
    deletion notices (``<DeleteCitation>``), which come out as hits marked ``deleted``."""

    records: int = 0
    deletions: list[str] = field(default_factory=list)


def read_records(
    path: str | Path,
    problems: list[ImportProblem] | None = None,
    tally: ReadTally | None = None,
) -> Iterator[Hit]:
    """Yield one Hit per record of the import file ``path`` that can be kept.

    Each record kept after a repair (the reader's, or a field cut to fit its column), or
    skipped, appends an :class:`ImportProblem` with its number in the file to ``problems``
    (when given) as it is read. Only a file that cannot be read at all (or that
    holds no record to keep) raises :class:`ImportFormatError`.
    """
    path = Path(path)
    kept = 0
    first_problem: ImportProblem | None = None
    try:
        with path.open("rb") as handle:
            head = handle.read(_SNIFF_BYTES)
            fmt = detect_format(path, head)
            handle.seek(0)
            for number, hit, notes in _reader(fmt)(path, handle, _encoding(head)):
                if tally is not None:
                    tally.records = number
                    if hit is not None and hit.deleted and hit.pmid:
                        tally.deletions.append(hit.pmid)
                if hit is not None:
                    hit = capped(hit, notes)
                # the reader's repairs, then what making the record storable cut (Hit.notes)
                for note in [*notes, *(hit.notes if hit is not None else ())]:
                    problem = ImportProblem(record=number, message=note)
                    first_problem = first_problem or problem
                    if problems is not None:
                        problems.append(problem)
                if hit is not None:
                    kept += 1
                    yield hit
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    except RecursionError:
        raise ImportFormatError(f"{path}: nested too deeply to read") from None
    if kept == 0:
        if first_problem is not None:
            raise ImportFormatError(f"{path}: no record could be kept ({first_problem.line()})")
        raise ImportFormatError(f"{path}: no records found", hint=_NO_RECORDS_HINTS[fmt])


def record_id(source_id: str) -> str:
    """The id an imported record carries in its own file ("" when it had none), from its
    sighting's ``source_id``."""
    if source_id.startswith("sha1:"):
        return ""
    own, sep, _digest = source_id.rpartition("#")
    return own if sep else source_id


Reader = Callable[[Path, BinaryIO, str], Iterator[_Read]]

#: Each format's reader, as (module, function): a format's module, and what it needs (lxml for
#: PubMed XML, Biopython for MEDLINE), is loaded only when a file of that format is read, so a
#: command reading RIS does not spend its start-up loading the others.
_READERS: dict[str, tuple[str, str]] = {
    "ris": ("harvester.sources.import_ris", "_read_ris"),
    "csljson": ("harvester.sources.import_csl", "_read_csljson"),
    "pubmed-xml": ("harvester.sources.import_medline", "_read_pubmed_xml"),
    "medline": ("harvester.sources.import_medline", "_read_medline"),
}


def _reader(fmt: str) -> Reader:
    module, name = _READERS[fmt]
    return cast(Reader, getattr(importlib.import_module(module), name))
