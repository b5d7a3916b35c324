"""Run bib-dedupe on one labelled set's records; run by the python of bib-dedupe's own venv.

Usage: BIBDEDUPE_PYTHON benchmarks/bibdedupe_run.py RECORDS.csv OUT.json

RECORDS.csv has one row per record (ID, ENTRYTYPE, title, author, year, journal, booktitle,
volume, number, pages, doi, abstract). OUT.json gets ``{"clusters": [[ID, ...], ...],
"seconds": S, "version": V}``: the duplicate groups bib-dedupe found (prep, block, match,
cluster: its documented pipeline, no manual "maybe" review) and the seconds that took.

bib-dedupe is not a dependency of harvester: ``benchmarks/dedupe_bench.py`` makes a venv for it
and calls this script there.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version

import pandas as pd
from bib_dedupe.bib_dedupe import block, cluster, match, prep

COLUMNS = (
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


def main() -> int:
    source, target = sys.argv[1], sys.argv[2]
    records = pd.read_csv(source, dtype=str, keep_default_na=False)
    for column in COLUMNS:
        if column not in records.columns:
            records[column] = ""
    started = time.perf_counter()
    prepared = prep(records, verbosity_level=0)
    pairs = block(prepared, verbosity_level=0)
    matched = match(pairs, verbosity_level=0)
    clusters = cluster(matched, verbosity_level=0)
    seconds = time.perf_counter() - started
    with open(target, "w", encoding="utf-8") as out:
        json.dump(
            {
                "clusters": [sorted(str(i) for i in group) for group in clusters],
                "seconds": seconds,
                "version": version("bib-dedupe"),
            },
            out,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
