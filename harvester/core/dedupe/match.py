"""Which records are the same article: identity keys and the matching decision.

Pure: the store gathers the works that share an identity or a blocking key with a hit, turns
them into :class:`Keys` and asks :func:`decide`. The order of the rules, first that applies wins:

1. **Conflicting exact ids never merge.** Two records with different PMIDs, DOIs or PMCIDs are
   different works, however alike their titles (errata, corrections, reprints, the same abstract
   in two meetings). Merging two articles hides one from the reviewer, which is worse than showing
   a duplicate, so every doubtful case ends as "different".
2. **Notices and preprints stay apart.** An erratum, retraction or other notice (by its
   publication type or its title's structure, :mod:`harvester.core.dedupe.rules`) is never merged
   with the article it is about, nor a preprint with its published version; when their titles
   match they are *linked* instead (``erratum-of``, ``retraction-of``, ``preprint-of``). A
   shared PMID, or a DOI when not both records state their types, still merges.
3. **A shared exact id merges**: PMID, then DOI, then PMCID, then canonical URL.
4. **Near-identity** for records without a shared id: the normalised titles agree (rapidfuzz
   ratio over the titles without spaces, or one title is a long prefix of the other, as when a
   database cuts titles at a field limit or appends a group name), with the same numbers in them
   ("phase II" and "phase III" are different trials); the years are at most one apart; the first
   authors agree; the volumes do not conflict; the journal names can be one journal (full name
   or abbreviation). A year apart, a prefix-only title or a missing first author each need
   corroboration (same volume or first page); differing first authors or differing journals
   need the same volume and page range. News stories compare publication days, not authors.
   A recurring title (editorial, column, reply, "Erratum", a title citing another) merges only
   at the same volume, issue and first page; a short title only at the same page range (in
   another issue only for the same author team: an export's issue can be a record number); a
   notice-sized item far from the other's pages in one volume is not the article; differing
   issues ask for more shared title words, and when neither record gives pages they part two
   records (a column that recurs issue after issue); page ranges that do not overlap and lie at most
   ``PAGES_NEAR`` pages apart in one volume are two items (a paper in parts, a column).
   A conference paper of the same title, year and first author matches when one export leaves
   its proceedings title out.
5. **Same place in the same volume**: same first author, year, volume and page range (of several
   pages: one-page abstracts share pages) is one article even when one database translated or
   reworded its title, if the titles still share words or the journals agree. The place
   (volume, page range, year) is a blocking key of its own, so such a record is compared even
   when it shares no title or author key. When one title is marked as a translation
   (MEDLINE's ``[...]``, "... [Spanish]", "... [Article in German]"), the same year, volume, first
   page, first author and a journal that can be one suffice, whatever the titles say.
6. **One abstract in two printings**: a long abstract, word for word, under the same first author
   in the same journal (a year apart at most) is one article printed under another issue or
   pages; its fingerprint is a blocking key. A reprint in another journal stays apart.

A notice (erratum, correction) indexed under its article's own citation (same year, volume,
first page and a journal that can be the article's, no conflicting id) stands for the article
and merges with it; elsewhere it is linked.

A page range a spreadsheet turned into a date ("01-Aug" for 1-8) is read as the range
(:func:`harvester.core.normalise.repair_pages`).

Every threshold is a module constant; ``benchmarks/dedupe_bench.py`` measures them on labelled
systematic-review exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from harvester.core.dedupe.keys import KEYS_VERSION, Keys, hit_keys, make_keys
from harvester.core.dedupe.rules import (
    authors_agree,
    is_article_number,
    is_short_title,
    journals_agree,
    title_numbers,
)
from harvester.core.models import WorkKind
from harvester.core.normalise import (
    compact,
)

__all__ = [
    "KEYS_VERSION",
    "Comparisons",
    "Keys",
    "Link",
    "Match",
    "Verdict",
    "compare",
    "decide",
    "hit_keys",
    "make_keys",
]

# Title similarity (0-100) for a full-title match, and for a match of the shorter title against
# the start of the longer one.
TITLE_RATIO = 93.0
PREFIX_RATIO = 96.0
PREFIX_MIN_CHARS = 40
# A title this close counts as the same title where more doubt is allowed elsewhere.
EXACT_RATIO = 98.0
# Shared words needed when only the locator (volume, first page, year, author) agrees.
LOCATOR_WORDS = 60.0
# ... when the records give different issues (a per-issue pagination can repeat a page range;
# an export's issue field can also hold a record number, so a differing issue alone does not
# part two records).
LOCATOR_WORDS_OTHER_ISSUE = 75.0
# Page ranges this far apart in one volume are two items (more slack: a database that gives
# one of several page ranges, a supplement's pages).
PAGES_APART = 10
# Page ranges that do not overlap and are at most this far apart in one volume: two items.
PAGES_NEAR = 50
NOTICE_PAGES = 2
# Headlines are short, so they must agree more closely and be at most this far apart in time.
NEWS_RATIO = 95.0
NEWS_DAYS = 7

STRENGTH = {"pmid": 50, "doi": 40, "pmcid": 30, "url": 20}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of comparing two records: the same work, or two works to link."""

    same: bool
    reason: str
    strength: float
    relation: str | None = None  # for a link: how the first record relates to the second


@dataclass(frozen=True, slots=True)
class Link:
    work_id: int
    relation: str
    reason: str


@dataclass(slots=True)
class Match:
    """:func:`decide`'s answer: the work a hit belongs to (None: a new work) and links to make."""

    work_id: int | None
    reason: str
    links: list[Link] = field(default_factory=list)


def compare(a: Keys, b: Keys) -> Verdict | None:
    """Whether ``a`` and ``b`` are the same work (or linked works); None when unrelated.

    Symmetric: ``compare(a, b)`` and ``compare(b, a)`` agree on ``same``, ``reason`` and
    ``strength`` (a link's relation is stated from ``a``'s side).
    """
    conflict = _id_conflict(a, b)
    if a.notice or b.notice:
        return _notice_link(a, b)
    if a.preprint != b.preprint:
        return _preprint_link(a, b)
    if conflict:
        return None
    for kind in ("pmid", "doi", "pmcid"):
        value = getattr(a, kind)
        if value and value == getattr(b, kind):
            return Verdict(True, kind, STRENGTH[kind])
    if set(a.urls) & set(b.urls):
        return Verdict(True, "url", STRENGTH["url"])
    return _near(a, b)


class Comparisons:
    """:func:`compare`, each pair of keys compared once.

    The ingest planner compares a hit with the stored works of its blocks twice: once to judge
    which works' fields to read (:func:`~harvester.core.ingest.planner.likely_targets`), once to
    decide; a work the batch has not changed has the same keys both times, and in a large store
    most of a hit's candidates are such works. A verdict is kept with the two :class:`Keys` it
    was made from (frozen values) and given again only for those very objects, so a work whose
    keys the batch changed is compared afresh."""

    __slots__ = ("_verdicts",)

    def __init__(self) -> None:
        self._verdicts: dict[tuple[int, int], tuple[Keys, Keys, Verdict | None]] = {}

    def compare(self, a: Keys, b: Keys) -> Verdict | None:
        # by identity: the entry holds both objects, so neither id can be another's meanwhile
        pair = (id(a), id(b))
        known = self._verdicts.get(pair)
        if known is not None and known[0] is a and known[1] is b:
            return known[2]
        verdict = compare(a, b)
        self._verdicts[pair] = (a, b, verdict)
        return verdict


def decide(hit: Keys, candidates: Iterable[tuple[int, Keys]]) -> Match:
    """The work ``hit`` belongs to among ``candidates`` (work id, keys), and links to make.

    The strongest "same" verdict wins (exact ids before titles, then the closer title, then the
    older work); ties between works cannot merge them, each hit joins one work only.
    """
    best: tuple[float, int] | None = None
    best_reason = "new"
    links: list[Link] = []
    for work_id, keys in candidates:
        verdict = compare(hit, keys)
        if verdict is None:
            continue
        if not verdict.same:
            assert verdict.relation is not None
            links.append(Link(work_id, verdict.relation, verdict.reason))
            continue
        rank = (verdict.strength, -work_id)
        if best is None or rank > best:
            best, best_reason = rank, verdict.reason
    if best is None:
        return Match(None, "new", links)
    return Match(-best[1], best_reason, links)


def _id_conflict(a: Keys, b: Keys) -> bool:
    return any(
        getattr(a, kind) and getattr(b, kind) and getattr(a, kind) != getattr(b, kind)
        for kind in ("pmid", "doi", "pmcid")
    )


def _notice_link(a: Keys, b: Keys) -> Verdict | None:
    """A notice and the article it is about are linked, never merged; two notices are only the
    same notice through a shared exact id."""
    if a.notice and b.notice:
        if _id_conflict(a, b):
            return None
        for kind in ("pmid", "doi", "pmcid"):
            if getattr(a, kind) and getattr(a, kind) == getattr(b, kind):
                return Verdict(True, kind, STRENGTH[kind])
        if set(a.urls) & set(b.urls):
            return Verdict(True, "url", STRENGTH["url"])
        return _same_notice(a, b)
    if not _id_conflict(a, b):
        if a.pmid and a.pmid == b.pmid:
            return Verdict(True, "pmid", STRENGTH["pmid"])
        if a.doi and a.doi == b.doi and not (a.typed and b.typed):
            # One record says it is a notice and the other says nothing of its type: a shared
            # DOI is the stronger word (a correction exported without its publication type).
            return Verdict(True, "doi", STRENGTH["doi"])
    notice, article = (a, b) if a.notice else (b, a)
    if not notice.notice_title:
        return None
    ratio = max(_ratio(notice.notice_title, t) for t in article.titles or ("",))
    if ratio < TITLE_RATIO:
        return None
    if not _id_conflict(a, b) and _same_citation(notice, article):
        # The notice is indexed under the article's own citation (journal, year, volume and
        # pages): the record stands for the article, corrected.
        return Verdict(True, f"notice at the article's citation {ratio / 100:.2f}", ratio / 100)
    relation = notice.notice or "notice-of"
    if notice is b:
        relation = relation.replace("-of", "-in")
    return Verdict(False, f"{notice.notice} title {ratio / 100:.2f}", ratio / 100, relation)


def _preprint_link(a: Keys, b: Keys) -> Verdict | None:
    """A preprint and a journal article of the same title, authors and (about) year: the
    published version. Venue, volume and pages cannot agree, so they are not asked."""
    if a.year and b.year and abs(a.year - b.year) > 1:
        return None
    if a.authors and b.authors and not authors_agree(a.authors, b.authors):
        return None
    ratio, prefix = _title_similarity(a.titles, b.titles)
    if ratio is None or prefix:
        return None
    relation = "preprint-of" if a.preprint else "published-as"
    return Verdict(False, f"preprint title {ratio / 100:.2f}", ratio / 100, relation)


def _near(a: Keys, b: Keys) -> Verdict | None:
    if a.kind is WorkKind.NEWS or b.kind is WorkKind.NEWS:
        return _near_news(a, b) if a.titles and b.titles else None
    reprint = _same_abstract(a, b)
    if reprint is not None or not a.titles or not b.titles:
        return reprint
    if a.year and b.year and abs(a.year - b.year) > 1 and not _sameis_article_number(a, b):
        return None
    if a.volume and b.volume and a.volume != b.volume:
        return None
    if a.recurring or b.recurring:
        return _near_recurring(a, b)
    if a.volume and a.volume == b.volume and _pages_apart(a, b):
        return None  # two places in one volume: an article and its erratum, two columns
    if a.volume == b.volume and _neighbours(a, b):
        return None  # two items a few pages apart: the parts of a paper, a column
    if a.volume and a.volume == b.volume and _front_matter_and_body(a.page, b.page):
        return None  # pages "xi-xii" and "1-17": a preface and the article it introduces
    if (
        a.page
        and b.page
        and a.page != b.page
        and is_article_number(a.page)
        and is_article_number(b.page)
    ):
        return None  # two article numbers ("e51857", "e53112"): two articles
    # Different issues: the same page range does not place two records together when it
    # starts an issue (journals that number pages per issue).
    issues_differ = bool(a.issue and b.issue and not set(a.issue) & set(b.issue))
    if issues_differ and not a.page and not b.page:
        # Same title, author, journal and year in two issues, and no pages to say it is one
        # item: a column that appears issue after issue. (With pages on one side only, the
        # issue field may hold an export's record number instead.)
        return None
    same_year = a.year == b.year
    located = bool(
        a.volume
        and a.volume == b.volume
        and _same_span(a, b)
        and not (issues_differ and a.page == "1")
    )
    corroborated = bool((a.volume and a.volume == b.volume) or _same_page(a, b))
    pinned = bool(
        a.volume
        and a.volume == b.volume
        and _same_page(a, b)
        and not issues_differ
        and a.authors
        and b.authors
        and authors_agree(a.authors, b.authors)
    )
    if all(is_short_title(t) for t in (*a.titles, *b.titles)) and not (
        same_year and (located or pinned or _same_team_and_span(a, b))
    ):
        return None  # "Intrapleural therapy": one item only at one page range
    journals = journals_agree(a.journals, b.journals)
    authors = authors_agree(a.authors, b.authors) if a.authors and b.authors else None
    ratio, prefix = _title_similarity(a.titles, b.titles)
    if ratio is not None:
        exact = ratio >= EXACT_RATIO and not prefix
        checks = [
            same_year or corroborated,
            not prefix or (same_year and authors is True),
            exact or not _pages_disjoint(a.page, b.page),
            journals or located,
            authors is True
            or (authors is None and corroborated and exact)
            or (authors is False and located and exact),
        ]
        if all(checks):
            what = "title prefix" if prefix else "title"
            who = {True: "author", None: "no author", False: "volume+page"}[authors]
            return Verdict(True, f"{what}+year+{who} {ratio / 100:.2f}", ratio / 100)
    if (a.translated or b.translated) and _translation(a, b, authors, journals):
        # One title is marked as a translation of the other: the place in the journal says it
        # is one article.
        return Verdict(True, "translated title+volume+page+year+author", 0.9)
    if (
        ratio is not None
        and ratio >= EXACT_RATIO
        and not prefix
        and same_year
        and authors is True
        and journals is None
        and (a.proceedings or b.proceedings)
        and not _pages_disjoint(a.page, b.page)
    ):
        # A conference paper whose proceedings title one export gives and another leaves out.
        return Verdict(True, f"title+year+author, proceedings {ratio / 100:.2f}", ratio / 100)
    if same_year and located and (authors is True or (authors is None and journals is True)):
        # Same first author (or none given, in the same journal), year, volume and page range:
        # one article, its title translated or reworded by one database. The titles must still
        # share words, or the journals agree.
        words = max(fuzz.token_set_ratio(ta, tb) for ta in a.titles for tb in b.titles)
        enough = LOCATOR_WORDS if authors and not issues_differ else LOCATOR_WORDS_OTHER_ISSUE
        if words >= enough or (journals is True and authors and not issues_differ):
            who = "author" if authors else "journal"
            return Verdict(True, f"volume+page+year+{who} {words / 100:.2f}", words / 200)
    exact = ratio is not None and ratio >= EXACT_RATIO and not prefix
    if exact and authors and journals and _sameis_article_number(a, b):
        # An article number that is no page ("CD006828"): the versions of one updated review.
        assert ratio is not None
        return Verdict(True, f"title+author+article number {ratio / 100:.2f}", ratio / 100)
    return None


def _same_citation(notice: Keys, article: Keys) -> bool:
    """A notice given the article's own citation: the same year, volume and first page (and last
    page, when both give one), in a journal that can be the article's."""
    return bool(
        notice.year
        and notice.year == article.year
        and notice.volume
        and notice.volume == article.volume
        and notice.page
        and notice.page == article.page
        and not (notice.last_page and article.last_page and notice.last_page != article.last_page)
        and not (notice.issue and article.issue and not set(notice.issue) & set(article.issue))
        and journals_agree(notice.journals, article.journals) is not False
    )


def _same_notice(a: Keys, b: Keys) -> Verdict | None:
    """Two records of one notice without a shared id: the same title (the notice word and the
    article it names), year, first author (or none on both) and journal, at the same place when
    both give one ("Erratum" alone, at the same pages)."""
    ratio, prefix = _title_similarity(a.titles, b.titles)
    if ratio is None or prefix or ratio < EXACT_RATIO or not (a.year and a.year == b.year):
        return None
    if bool(a.authors) != bool(b.authors) or (
        a.authors and not authors_agree(a.authors, b.authors)
    ):
        return None
    if not journals_agree(a.journals, b.journals):
        return None
    placed = bool(a.volume and a.volume == b.volume and a.page and a.page == b.page)
    if not placed:
        if not (a.notice_title and len(a.notice_title) >= PREFIX_MIN_CHARS):
            return None  # "Erratum" without a place: any erratum of the journal that year
        if (a.volume and b.volume and a.volume != b.volume) or _pages_differ(a, b):
            return None
    if a.last_page and b.last_page and a.last_page != b.last_page:
        return None
    return Verdict(True, f"notice title+place {ratio / 100:.2f}", ratio / 100)


def _pages_differ(a: Keys, b: Keys) -> bool:
    return bool(a.page and b.page and a.page != b.page)


def _same_abstract(a: Keys, b: Keys) -> Verdict | None:
    """One long abstract, word for word, under the same first author, in the same journal (or
    one unnamed) a year apart at most: one article printed twice (another issue or pages, a
    translated title). A reprint in another journal is another record."""
    if not (a.abstract and a.abstract == b.abstract and a.authors and b.authors):
        return None
    if a.year and b.year and abs(a.year - b.year) > 1:
        return None
    if not authors_agree(a.authors, b.authors):
        return None
    if journals_agree(a.journals, b.journals) is False:
        return None
    return Verdict(True, "abstract+author", 0.95)


def _translation(a: Keys, b: Keys, authors: bool | None, journals: bool | None) -> bool:
    """Records of which one title is a translation, at one place: the same year, volume and
    first page (not conflicting last pages), the same first author, a journal that can be one."""
    return bool(
        authors is True
        and journals is not False
        and a.year
        and a.year == b.year
        and a.volume == b.volume
        and (a.volume or not (a.issue and b.issue and not set(a.issue) & set(b.issue)))
        and a.page
        and a.page == b.page
        and (a.page != "1" or (a.last_page and a.last_page == b.last_page))
        and not (a.last_page and b.last_page and a.last_page != b.last_page)
    )


def _sameis_article_number(a: Keys, b: Keys) -> bool:
    return bool(a.page and a.page == b.page and is_article_number(a.page))


def _near_recurring(a: Keys, b: Keys) -> Verdict | None:
    """Records of a recurring title (an editorial, a column, a reply, "Erratum") are one item
    only at one bibliographic position: the same volume, issue and first page (and last page,
    when both give one), year, author and journal, besides the same title."""
    ratio, prefix = _title_similarity(a.titles, b.titles)
    if ratio is None or prefix or ratio < EXACT_RATIO:
        return None
    placed = (
        a.volume
        and a.volume == b.volume
        and a.issue
        and a.issue == b.issue
        and a.page
        and a.page == b.page
        and not (a.last_page and b.last_page and a.last_page != b.last_page)
    )
    if not placed or (a.year and b.year and a.year != b.year):
        return None
    if a.authors and b.authors and not authors_agree(a.authors, b.authors):
        return None
    if journals_agree(a.journals, b.journals) is False:
        return None
    return Verdict(True, f"recurring title+position {ratio / 100:.2f}", ratio / 100)


def _near_news(a: Keys, b: Keys) -> Verdict | None:
    if a.day and b.day:
        if abs((a.day - b.day).days) > NEWS_DAYS:
            return None
    elif a.year and b.year and a.year != b.year:
        return None
    best = 0.0
    for ta in a.titles:
        for tb in b.titles:
            if title_numbers(ta) != title_numbers(tb):
                continue
            best = max(best, _ratio(ta, tb))
    if best < NEWS_RATIO:
        return None
    return Verdict(True, f"title+date {best / 100:.2f}", best / 100)


def _title_similarity(
    titles_a: Sequence[str], titles_b: Sequence[str]
) -> tuple[float | None, bool]:
    """The best full-title ratio over the title variants, else the best prefix ratio."""
    best_full = 0.0
    best_prefix = 0.0
    for ta in titles_a:
        for tb in titles_b:
            ratio = _ratio(ta, tb)
            if ratio >= TITLE_RATIO and title_numbers(ta) == title_numbers(tb):
                best_full = max(best_full, ratio)
                continue
            short, long = sorted((compact(ta), compact(tb)), key=lambda t: (len(t), t))
            if len(short) < PREFIX_MIN_CHARS:
                continue
            prefix_ratio = fuzz.ratio(short, long[: len(short)])
            if prefix_ratio >= PREFIX_RATIO and title_numbers(ta) == title_numbers(tb):
                best_prefix = max(best_prefix, prefix_ratio)
    if best_full:
        return best_full, False
    if best_prefix:
        return best_prefix, True
    return None, False


def _ratio(a: str, b: str) -> float:
    return float(fuzz.ratio(compact(a), compact(b)))


def _same_span(a: Keys, b: Keys) -> bool:
    """The same page range of several pages: one article (a one-page abstract shares its page
    with other abstracts)."""
    return bool(a.last_page and a.page == b.page and a.last_page == b.last_page)


def _same_team_and_span(a: Keys, b: Keys) -> bool:
    """The same authors (two or more, in order) at the same page range of the same volume: one
    item, whatever the issues say (an export's issue field can hold a record number)."""
    return bool(
        len(a.authors) >= 2
        and a.authors == b.authors
        and a.volume
        and a.volume == b.volume
        and _same_span(a, b)
    )


def _same_page(a: Keys, b: Keys) -> bool:
    """The same first page, other than 1 (every article of some e-journals starts on page 1)."""
    return bool(a.page and a.page == b.page and a.page != "1")


def _pages_apart(a: Keys, b: Keys) -> bool:
    """Both records give printed pages, their page ranges are more than ``PAGES_APART`` pages
    apart and one of them is notice-sized (at most ``NOTICE_PAGES`` pages): an article and its
    erratum under the same title. An electronic locator and a printed page are not compared."""
    if not (a.page and b.page and a.page.isdigit() and b.page.isdigit()):
        return False
    first_a, first_b = int(a.page), int(b.page)
    last_a = int(a.last_page) if a.last_page else first_a
    last_b = int(b.last_page) if b.last_page else first_b
    if min(last_a - first_a, last_b - first_b) >= NOTICE_PAGES:
        return False  # two articles' ranges: one of them garbled more likely than two items
    return first_b - last_a > PAGES_APART or first_a - last_b > PAGES_APART


def _neighbours(a: Keys, b: Keys) -> bool:
    """Both records give printed page ranges that do not overlap and lie at most
    ``PAGES_NEAR`` pages apart: two neighbouring items of one volume (a paper in two parts, a
    column in consecutive issues). A range far off is more likely one database's error (another
    edition's pagination) than another item."""
    if not (a.page and b.page and a.page.isdigit() and b.page.isdigit()) or a.page == b.page:
        return False
    first_a, first_b = int(a.page), int(b.page)
    last_a = int(a.last_page) if a.last_page else first_a
    last_b = int(b.last_page) if b.last_page else first_b
    gap = max(first_b - last_a, first_a - last_b)
    return 0 < gap <= PAGES_NEAR


_ROMAN_PAGE = re.compile(r"[ivxlc]+")


def _front_matter_and_body(a: str | None, b: str | None) -> bool:
    """One page in roman numerals (a volume's front matter), the other in arabic (its body)."""
    if not (a and b):
        return False
    return bool(
        (_ROMAN_PAGE.fullmatch(a) and b.isdigit()) or (_ROMAN_PAGE.fullmatch(b) and a.isdigit())
    )


def _pages_disjoint(a: str | None, b: str | None) -> bool:
    """Two plain page numbers far apart: the records probably locate different articles."""
    if not (a and b and a.isdigit() and b.isdigit()):
        return False
    return abs(int(a) - int(b)) > 10
