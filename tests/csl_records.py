"""Records for comparing the shipped CSL styles with citeproc-js: two of each kind (journal
article, news item, article ahead of print), written for the suite."""

from __future__ import annotations

import datetime as dt

from harvester.core.bulletin import BulletinItem
from harvester.core.models import Author, DatePrecision, PubDate, WorkKind


def _date(year: int, month: int | None = None, day: int | None = None) -> PubDate:
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return PubDate(year=year, month=month, day=day, precision=precision)


def records() -> list[BulletinItem]:
    return [
        BulletinItem(  # article: two authors, issue, abbreviated page range, DOI
            entry_id=1,
            candidate_id=1,
            work_id=1,
            title="Self-management of long-term conditions: a district nursing perspective of patient engagement.",
            authors=(
                Author(family="Vaughan", given="Karen", initials="K"),
                Author(family="Lavery", given="Jane", initials="J"),
            ),
            journal="British journal of community nursing",
            journal_iso="Br J Community Nurs",
            volume="29",
            issue="10",
            pages="474-9",
            pub_date=_date(2024, 10, 2),
            doi="10.12968/bjcn.2024.29.10.474",
            pmid="39365737",
        ),
        BulletinItem(  # article: e-only, article number and page count, PubMed link only
            entry_id=2,
            candidate_id=2,
            work_id=2,
            title="Social prescribing for older adults living alone - a qualitative study",
            authors=(
                Author(family="Moya-Galé", given="Gemma", initials="G"),
                Author(family="O'Sullivan", given="Jean-Pierre", initials="JP"),
                Author(family="Patel", initials="R"),
            ),
            journal="Scientific reports",
            journal_iso="Sci Rep",
            volume="14",
            issue="1",
            pages="30517-12",
            elocation="pii: 30517",
            pub_date=_date(2024, 12),
            pmid="39600001",
        ),
        BulletinItem(  # news: a named journalist, dated
            entry_id=3,
            candidate_id=3,
            work_id=3,
            title="Nature and outdoors increasingly prescribed by GPs",
            kind=WorkKind.NEWS,
            authors=(Author(family="Parkhill", given="Helen", initials="H"),),
            source_name="The Guardian",
            url="https://www.theguardian.com/society/2024/nov/12/nature-prescribed",
            published_at=dt.datetime(2024, 11, 12, 9, 30, tzinfo=dt.UTC),
        ),
        BulletinItem(  # news: an organisation, no byline
            entry_id=4,
            candidate_id=4,
            work_id=4,
            title="Social prescribing referrals triple in three years",
            kind=WorkKind.NEWS,
            source_name="BBC Guernsey",
            url="https://www.bbc.co.uk/news/articles/c0jq0x8gn8po",
            published_at=dt.datetime(2024, 12, 17, 7, 0, tzinfo=dt.UTC),
        ),
        BulletinItem(  # ahead of print: no volume, pages 1-9
            entry_id=5,
            candidate_id=5,
            work_id=5,
            title="Equal, equitable or exacerbating inequalities: patterns and predictors of social prescribing referrals in 160 128 UK patients.",
            authors=(
                Author(family="Bu", given="Feifei", initials="F"),
                Author(family="Burton", initials="A"),
                Author(family="Launders", initials="N"),
                Author(family="Fancourt", initials="D"),
            ),
            journal="The British journal of psychiatry : the journal of mental science",
            journal_iso="Br J Psychiatry",
            pages="1-9",
            pub_date=_date(2024, 11, 21),
            doi="10.1192/bjp.2024.141",
        ),
        BulletinItem(  # ahead of print: no volume nor pages, a group author
            entry_id=6,
            candidate_id=6,
            work_id=6,
            title="Where to start? a scoping review of social prescribing for young people",
            authors=(Author(collective="National Academy for Social Prescribing"),),
            journal="BMJ open",
            journal_iso="BMJ Open",
            pub_date=_date(2025, 1, 8),
            doi="10.1136/bmjopen-2024-000001",
        ),
    ]
