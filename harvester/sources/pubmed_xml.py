"""PubMed XML (``PubmedArticleSet``) to :class:`~harvester.core.models.Hit`, streamed and offline.

One parser serves E-utilities ``efetch`` bodies, NLM baseline/update files and user imports.

Why this shape:

* **Streaming.** ``lxml.etree.iterparse`` hands over one record at a time; each record is turned
  into a Hit, then cleared and dropped from the tree, so memory is bounded by the largest single
  record, not the file.
* **No DTD, no network, no entities.** PubMed files start with a ``<!DOCTYPE ... "https://dtd...">``
  line. The DTD is never loaded or fetched (``load_dtd=False, no_network=True``): nothing in the
  PubMed DTD is needed to read the elements (it declares no entities, and its attribute defaults are
  not relied on here). Entity references are never expanded (``resolve_entities=False``) and a
  document that declares entities is refused, as defusedxml does, so "billion laughs" and external
  entity tricks cannot work.
* **Text, not markup.** Titles and abstracts carry inline markup (``<i>``, ``<sup>``, ``<sub>``,
  ``<b>``, MathML). It is flattened to its text (``P<sub>4</sub>`` becomes ``P4``), never dropped,
  so no words go missing; whitespace inside MathML is insignificant and is ignored.

Choices worth knowing:

* A ``PubmedBookArticle`` (a Bookshelf chapter or whole book) becomes a Hit of kind
  :attr:`WorkKind.OTHER`: it is not a journal article and must not be cited as one. Its title is the
  chapter's ``ArticleTitle`` or else the ``BookTitle``; ``journal``/``source_name`` hold the book
  title when the record is a chapter. Only the ``authors`` list is read, not the book's editors.
* A translated title is given in brackets (``[Title in English].``); the brackets are removed. An
  empty ``ArticleTitle`` falls back to ``VernacularTitle``; both stay in ``raw``.
* A record without an ``Abstract`` takes its ``OtherAbstract`` (the English one first): old
  records carry their only English abstract there (NLM's "PIP" abstracts). A ``MedlineCitation``
  with nothing but its PMID still gives a Hit (no title, ids and dates from ``PubmedData``).
  Language "und" (undetermined) is no language; an ``AbstractText`` without a ``Label`` is
  labelled by its ``NlmCategory``.
* ``<DeleteCitation>`` PMIDs come out as Hits with ``deleted=True`` and an empty title.
* ``raw`` holds the record's own serialised element, so a later version can re-parse it, less
  its ``ReferenceList`` (the article's own bibliography: often a third of the record, and never
  read: a reference is not a relation of the record). Parsing ``raw`` again gives the same Hit.
* **Cheap.** A harvest parses while it waits for NCBI's next turn, so every record is read in
  one pass over its elements' children (a map of the first child of each tag), not by one path
  search per field.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from io import BytesIO
from typing import BinaryIO

from lxml import etree

from harvester.core.errors import ParseError
from harvester.core.models import (
    AbstractSection,
    Author,
    DatePrecision,
    Hit,
    PubDate,
    Relation,
    WorkKind,
)
from harvester.core.normalise import month_number
from harvester.sources.xml_text import Element
from harvester.sources.xml_text import first_children as _first_children
from harvester.sources.xml_text import flat as _flat
from harvester.sources.xml_text import text as _text
from harvester.sources.xml_text import texts as _texts

RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
ROOT_TAGS = frozenset({"PubmedArticleSet", "PubmedBookArticleSet"})
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
NO_TITLE = "[No title available]"  # PubMed's own words (see models.PLACEHOLDER_TITLES)

_YEAR = re.compile(r"\b(1[6-9]\d\d|2\d\d\d)\b")
_DOI_IN_TEXT = re.compile(r"\bdoi:\s*(10\.\S+?)\.?(?:\s|$)", re.IGNORECASE)
_ORCID = re.compile(r"(\d{4})-?(\d{4})-?(\d{4})-?(\d{3}[\dX])", re.IGNORECASE)
#: A document given as bytes up to this size is parsed whole (an efetch page is a few MB),
#: a larger one or a file is streamed record by record.
WHOLE_DOCUMENT_BYTES = 64 * 1024 * 1024
_parsers = threading.local()  # an lxml parser is used by one thread at a time


def _whole_parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "whole", None)
    if parser is None:
        parser = _parsers.whole = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
    return parser


# "Cites" lists an article's references: hundreds of them, and not a relation between works.
_IGNORED_RELATIONS = frozenset({"Cites"})


def parse_pubmed_xml(source: bytes | BinaryIO, *, name: str = "PubMed XML") -> Iterator[Hit]:
    """Yield one Hit per ``PubmedArticle``/``PubmedBookArticle``, and one per deleted PMID.

    ``source`` is the whole document as bytes or a binary file object read incrementally.
    ``name`` (a file name or URL) is used in error messages. A malformed document raises
    :class:`ParseError` naming ``name`` and how many records were read before the fault; records
    already yielded stay valid.
    """
    if isinstance(source, bytes | bytearray) and len(source) <= WHOLE_DOCUMENT_BYTES:
        try:
            whole = etree.fromstring(source, parser=_whole_parser())
        except etree.XMLSyntaxError:
            pass  # the streaming parser below yields the records before the fault
        else:
            yield from _records_of(whole, name)
            return
    stream = BytesIO(source) if isinstance(source, bytes | bytearray) else source
    context = etree.iterparse(
        stream,
        events=("end",),
        tag=RECORD_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    count = 0
    checked = False
    try:
        for _event, element in context:
            if not checked:
                _check_document(element.getroottree(), name)
                checked = True
            count += 1
            try:
                yield from _record(element, name, count)
            finally:
                _release(element)
    except etree.XMLSyntaxError as exc:
        raise ParseError(f"{name}: not well-formed XML after {count} records: {exc}") from None
    root = context.root
    if root is None:
        raise ParseError(f"{name}: empty document")
    if not checked:
        _check_document(root.getroottree(), name)


def _records_of(root: Element, name: str) -> Iterator[Hit]:
    """The records of a document parsed whole (the same as streaming it, in one C pass)."""
    _check_document(root.getroottree(), name)
    for count, element in enumerate(list(root.iter(*RECORD_TAGS)), 1):
        try:
            yield from _record(element, name, count)
        finally:
            element.clear(keep_tail=False)


def _check_document(tree: etree._ElementTree, name: str) -> None:
    root = tree.getroot()
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise ParseError(f"{name}: the document declares XML entities, which are refused")
    if root.tag not in ROOT_TAGS:
        message = _text(root.find(".//ERROR")) or f"root element <{local_name(root)}>"
        raise ParseError(f"{name}: not a PubmedArticleSet: {message}")


def local_name(element: Element) -> str:
    """The element's tag without its namespace."""
    return etree.QName(element).localname


def _release(element: Element) -> None:
    """Drop a finished record and any earlier siblings so the tree never grows."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _record(element: Element, name: str, number: int) -> Iterator[Hit]:
    if element.tag == "DeleteCitation":
        for pmid_element in element.iter("PMID"):
            pmid = _text(pmid_element)
            if pmid:
                yield Hit(source="pubmed", source_id=pmid, pmid=pmid, title="", deleted=True)
        return
    if element.tag == "PubmedBookArticle":
        yield _book(element, name, number)
    else:
        yield _article(element, name, number)


# ------------------------------------------------------------------------------------ records


def _article(element: Element, name: str, number: int) -> Hit:
    parts = _first_children(element)
    citation = parts.get("MedlineCitation")
    if citation is None:
        raise ParseError(f"{name}: record {number} has no MedlineCitation")
    cited = _first_children(citation)
    pmid = _require_pmid(cited.get("PMID"), name, number)
    # A citation reduced to its PMID still names a record (its ids and dates are in PubmedData):
    # keep it rather than fail the whole efetch page, and every later run, over it.
    article = cited.get("Article")
    fields = _first_children(article) if article is not None else {}
    data = parts.get("PubmedData")
    ids = _article_ids(data)
    journal = fields.get("Journal")
    in_journal = _first_children(journal) if journal is not None else {}
    issue = in_journal.get("JournalIssue")
    in_issue = _first_children(issue) if issue is not None else {}
    journal_title = _text(in_journal.get("Title"))
    iso = None
    if journal is not None:
        iso = _text(in_journal.get("ISOAbbreviation")) or _medline_ta(cited)
    elocations = _elocations(article)
    _drop_references(data)
    return Hit(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=_title_of(fields),
        kind=WorkKind.ARTICLE,
        authors=_authors(fields.get("AuthorList")),
        journal=journal_title,
        journal_iso=iso,
        volume=_text(in_issue.get("Volume")),
        issue=_text(in_issue.get("Issue")),
        pages=_pages(fields.get("Pagination")),
        elocation=_elocation_text(elocations),
        pub_date=_pub_date(in_issue.get("PubDate")) or _pub_date(fields.get("ArticleDate")),
        entrez_date=_entrez_date(data),
        doi=ids.get("doi") or _elocation_doi(elocations),
        pmcid=ids.get("pmc"),
        url=PUBMED_URL.format(pmid=pmid),
        abstract=_abstract(fields.get("Abstract")) or _other_abstract(citation),
        source_name=journal_title,
        publication_types=_list_texts(fields.get("PublicationTypeList"), "PublicationType"),
        language=_language(article) if article is not None else None,
        mesh=_mesh(cited.get("MeshHeadingList")),
        keywords=_texts(
            keyword
            for keywords in citation.iterchildren("KeywordList")
            for keyword in keywords.iterchildren("Keyword")
        ),
        relations=_relations(cited.get("CommentsCorrectionsList")),
        raw=etree.tostring(element, with_tail=False),
    )


def _book(element: Element, name: str, number: int) -> Hit:
    document = element.find("BookDocument")
    if document is None:
        raise ParseError(f"{name}: record {number} has no BookDocument")
    pmid = _require_pmid(document.find("PMID"), name, number)
    book = document.find("Book")
    book_title = _flat(book.find("BookTitle")) if book is not None else None
    chapter = _title(document, fallback=None)
    ids = _article_ids(element.find("PubmedBookData"))
    for article_id in document.iterfind("ArticleIdList/ArticleId"):
        ids.setdefault(article_id.get("IdType", ""), _text(article_id) or "")
    authors_list = next(
        (a for a in document.iterfind("AuthorList") if a.get("Type", "authors") == "authors"), None
    )
    elocations = _elocations(document)
    container = book_title if chapter else None
    _drop_references(element.find("PubmedBookData"))
    _drop_references(document)
    return Hit(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=chapter or _strip_translation_brackets(book_title or "") or NO_TITLE,
        kind=WorkKind.OTHER,
        authors=_authors(authors_list),
        journal=container,
        volume=_text(book.find("Volume")) if book is not None else None,
        pages=_pages(document.find("Pagination")),
        elocation=_elocation_text(elocations),
        pub_date=_book_date(document, book, chapter=bool(chapter)),
        entrez_date=_entrez_date(element.find("PubmedBookData")),
        doi=ids.get("doi") or _elocation_doi(elocations),
        pmcid=ids.get("pmc"),
        url=PUBMED_URL.format(pmid=pmid),
        abstract=_abstract(document.find("Abstract")),
        source_name=book_title,
        publication_types=_texts(document.iterfind("PublicationType")),
        language=_language(document),
        keywords=_texts(document.iterfind("KeywordList/Keyword")),
        raw=etree.tostring(element, with_tail=False),
    )


def _book_date(document: Element, book: Element | None, *, chapter: bool) -> PubDate | None:
    """A chapter dates from its contribution; the book's own date is when the series began."""
    book_date = _pub_date(book.find("PubDate") if book is not None else None)
    if chapter:
        return _pub_date(document.find("ContributionDate")) or book_date
    return book_date


def _require_pmid(element: Element | None, name: str, number: int) -> str:
    pmid = _text(element)
    if not pmid or not pmid.isdigit():
        raise ParseError(f"{name}: record {number} has no valid PMID (got {pmid!r})")
    return pmid


# ------------------------------------------------------------------------------------- fields


def _title_of(fields: dict[str, Element]) -> str:
    title = _flat(fields.get("ArticleTitle")) or _flat(fields.get("VernacularTitle"))
    return _strip_translation_brackets(title) if title else NO_TITLE


def _title(parent: Element, fallback: str | None = NO_TITLE) -> str:
    title = _flat(parent.find("ArticleTitle")) or _flat(parent.find("VernacularTitle"))
    if not title:
        return fallback or ""
    return _strip_translation_brackets(title)


def _strip_translation_brackets(title: str) -> str:
    """``[Translated title].`` becomes ``Translated title.`` (``[Why?].`` becomes ``Why?``).

    ``[18F]FDG uptake in [x].`` is left alone: its first bracket closes before the end.
    """
    if not title.startswith("["):
        return title
    end = len(title) - 1
    if title.endswith("."):
        end -= 1
    if end <= 0 or title[end] != "]":
        return title
    depth = 0
    for position, char in enumerate(title[: end + 1]):
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0 and position != end:
                return title  # the opening bracket closes before the end
    inner = title[1:end].strip()
    if title.endswith(".") and not inner.endswith((".", "?", "!")):
        inner += "."
    return inner


def _authors(author_list: Element | None) -> list[Author]:
    if author_list is None:
        return []
    authors: list[Author] = []
    for element in author_list.iterchildren("Author"):
        if element.get("ValidYN") == "N":
            continue  # kept by NLM as a record of an erroneous name; not an author
        parts: dict[str, Element] = {}
        orcid = None
        for child in element:
            tag = child.tag
            if tag == "Identifier":
                if orcid is None and child.get("Source", "").upper() == "ORCID":
                    orcid = _orcid(_text(child)) or ""  # the first ORCID identifier decides
            elif isinstance(tag, str) and tag not in parts:
                parts[tag] = child
        author = Author(
            family=_flat(parts.get("LastName")) or None,
            given=_flat(parts.get("ForeName")) or None,
            initials=_text(parts.get("Initials")),
            suffix=_text(parts.get("Suffix")),
            collective=_flat(parts.get("CollectiveName")) or None,
            orcid=orcid or None,
        )
        if author.family or author.collective or author.given or author.initials:
            authors.append(author)
    return authors


def _orcid(value: str | None) -> str | None:
    if not value:
        return None
    match = _ORCID.search(value)
    if match is None:
        return value
    return "-".join(match.groups()).upper()


def _pages(pagination: Element | None) -> str | None:
    if pagination is None:
        return None
    parts = _first_children(pagination)
    pages = _text(parts.get("MedlinePgn"))
    if pages:
        return pages
    start, end = _text(parts.get("StartPage")), _text(parts.get("EndPage"))
    if start and end:
        return f"{start}-{end}"
    return start


def _elocations(parent: Element | None) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if parent is None:
        return found
    for element in parent.iterchildren("ELocationID"):
        value = _text(element)
        if value and element.get("ValidYN", "Y") != "N":
            found.append((element.get("EIdType", "").lower(), value))
    return found


def _elocation_text(elocations: list[tuple[str, str]]) -> str | None:
    """As PubMed prints them: ``doi: 10.1000/x; pii: S0000``."""
    return "; ".join(f"{kind}: {value}" for kind, value in elocations) or None


def _elocation_doi(elocations: list[tuple[str, str]]) -> str | None:
    return next((_doi(value) for kind, value in elocations if kind == "doi"), None)


def _doi(value: str) -> str | None:
    value = value.strip()
    value = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", "", value, flags=re.IGNORECASE)
    return value if value.startswith("10.") else None


def _article_ids(data: Element | None) -> dict[str, str]:
    """``IdType -> value`` from the record's own ArticleIdList (not those of its references)."""
    ids: dict[str, str] = {}
    if data is None:
        return ids
    for element in data.iterfind("ArticleIdList/ArticleId"):
        kind, value = element.get("IdType", ""), _text(element)
        if not value or kind in ids:
            continue
        if kind == "doi":
            doi = _doi(value)
            if doi:
                ids[kind] = doi
        else:
            ids[kind] = value
    return ids


def _pub_date(element: Element | None) -> PubDate | None:
    if element is None:
        return None
    parts = _first_children(element)
    medline = _text(parts.get("MedlineDate"))
    year_text = _text(parts.get("Year"))
    if medline and not year_text:
        match = _YEAR.search(medline)
        return PubDate(int(match.group(1)), text=medline) if match else None
    if not year_text or not year_text.isdigit():
        return None
    year = int(year_text)
    season = _text(parts.get("Season"))
    if season:
        return PubDate(year, precision=DatePrecision.SEASON, text=f"{year} {season}")
    month_text = _text(parts.get("Month"))
    month = month_number(month_text)
    if month is None:
        return PubDate(year, text=f"{year} {month_text}" if month_text else None)
    day_text = _text(parts.get("Day"))
    if day_text and day_text.isdigit():
        try:
            dt.date(year, month, int(day_text))
        except ValueError:
            pass
        else:
            return PubDate(year, month, int(day_text), precision=DatePrecision.DAY)
    return PubDate(year, month, precision=DatePrecision.MONTH)


def _entrez_date(data: Element | None) -> dt.date | None:
    """The ``entrez`` history date; records from before it existed only have ``pubmed``."""
    if data is None:
        return None
    history = data.find("History")
    if history is None:
        return None
    found: dict[str, list[Element]] = {}
    for element in history.iterchildren("PubMedPubDate"):
        status = element.get("PubStatus")
        if status in ("entrez", "pubmed"):
            found.setdefault(status, []).append(element)
    for status in ("entrez", "pubmed"):
        for element in found.get(status, ()):
            parts = _first_children(element)
            try:
                return dt.date(*(int(_text(parts.get(t)) or "") for t in ("Year", "Month", "Day")))
            except ValueError:
                continue
    return None


def _abstract(abstract: Element | None) -> list[AbstractSection]:
    if abstract is None:
        return []
    sections = []
    for element in abstract.iterchildren("AbstractText"):
        text = _flat(element)
        # NLM's category stands in for a missing label; "UNASSIGNED"/"UNLABELLED" mean none.
        label = (element.get("Label") or element.get("NlmCategory") or "").strip()
        if label.upper() in ("UNLABELLED", "UNASSIGNED"):
            label = ""
        if text or label:
            sections.append(AbstractSection(text=text, label=label or None))
    return sections


def _other_abstract(citation: Element) -> list[AbstractSection]:
    """An ``OtherAbstract`` (often another language's) when the record has no ``Abstract``:
    the English one if there is one, else the first."""
    others = list(citation.iterchildren("OtherAbstract"))
    english = [other for other in others if other.get("Language") == "eng"]
    return next((_abstract(o) for o in english + others if _abstract(o)), [])


def _language(parent: Element) -> str | None:
    """The first determined language: "und" (undetermined) says nothing."""
    return next((t for t in _texts(parent.iterchildren("Language")) if t.lower() != "und"), None)


def _relations(comments: Element | None) -> list[Relation]:
    relations: list[Relation] = []
    if comments is None:
        return relations
    for element in comments.iterchildren("CommentsCorrections"):
        kind = element.get("RefType", "")
        if not kind or kind in _IGNORED_RELATIONS:
            continue
        ref = _flat(element.find("RefSource"))
        match = _DOI_IN_TEXT.search(ref)
        relations.append(
            Relation(
                type=kind,
                ref=ref,
                pmid=_text(element.find("PMID")),
                doi=match.group(1) if match else None,
            )
        )
    return relations


def _medline_ta(citation: dict[str, Element]) -> str | None:
    info = citation.get("MedlineJournalInfo")
    return _text(info.find("MedlineTA")) if info is not None else None


def _mesh(headings: Element | None) -> list[str]:
    if headings is None:
        return []
    return _texts(
        name
        for heading in headings.iterchildren("MeshHeading")
        for name in heading.iterchildren("DescriptorName")
    )


def _list_texts(parent: Element | None, tag: str) -> list[str]:
    return _texts(parent.iterchildren(tag)) if parent is not None else []


def _drop_references(parent: Element | None) -> None:
    """Remove the record's ``ReferenceList`` elements (before ``raw`` is serialised)."""
    if parent is None:
        return
    for references in parent.findall("ReferenceList"):
        parent.remove(references)
