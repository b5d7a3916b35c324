"""Records written for the ranking tests: works a social-prescribing team accepts and works it
rejects, as hits and as RIS files (made at run time, in a temp folder)."""

from __future__ import annotations

from pathlib import Path

from harvester.core.models import AbstractSection, Hit, PubDate

ACCEPTED_TITLES = [
    "Social prescribing link workers and loneliness in older adults",
    "Evaluation of a social prescribing service in primary care",
    "Link worker support for people with long-term conditions",
    "Arts on prescription and wellbeing: a community programme",
    "Green social prescribing for mental health in deprived areas",
    "Community connectors and social prescribing referrals",
]
REJECTED_TITLES = [
    "Ureteroscopy outcomes for kidney stones in adults",
    "Percutaneous nephrolithotomy for large renal calculi",
    "Dietary calcium and recurrence of kidney stones",
    "Shock wave lithotripsy compared with ureteroscopy",
    "Imaging of renal colic in the emergency department",
    "Citrate therapy and urinary stone prevention",
]
ACCEPTED_ABSTRACT = (
    "A social prescribing scheme where a link worker connects patients to community groups, "
    "reducing loneliness and improving wellbeing; {n} participants referred by general practice."
)
REJECTED_ABSTRACT = (
    "Patients with kidney stones treated by urologists; stone-free rate, ureteral stent, "
    "renal function and complications were measured in {n} procedures."
)


def titles(kind: str, count: int, start: int = 0) -> list[tuple[str, str]]:
    """``count`` (title, abstract) pairs of ``kind`` ("accepted" or "rejected"), all distinct."""
    pool = ACCEPTED_TITLES if kind == "accepted" else REJECTED_TITLES
    abstract = ACCEPTED_ABSTRACT if kind == "accepted" else REJECTED_ABSTRACT
    return [
        (f"{pool[n % len(pool)]}: cohort {n + 1} ({kind[:3]})", abstract.format(n=40 + n * 7))
        for n in range(start, start + count)
    ]


def hits(kind: str, count: int, *, source: str = "pubmed", start: int = 0) -> list[Hit]:
    return [
        Hit(
            source=source,
            source_id=f"{kind}-{start + n}",
            title=title,
            abstract=[AbstractSection(text=abstract)],
            pub_date=PubDate(2024),
        )
        for n, (title, abstract) in enumerate(titles(kind, count, start))
    ]


def write_ris(path: Path, pairs: list[tuple[str, str]]) -> Path:
    lines = []
    for n, (title, abstract) in enumerate(pairs):
        lines += [
            "TY  - JOUR",
            f"TI  - {title}",
            f"AB  - {abstract}",
            "PY  - 2023",
            f"ID  - {path.stem}-{n}",
            "ER  - ",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
