"""A fixed set of bulletin items covering every rule of the house style (the examples of the real
bulletin the style comes from, names with particles and accents, group authors, no authors, news
with and without a date, a structured abstract, an edited summary) plus an XSS fixture."""

from __future__ import annotations

import datetime as dt

from harvester.core.bulletin import BulletinDoc, BulletinItem, Resource, SectionSpec
from harvester.core.models import AbstractSection, Author, DatePrecision, PubDate, WorkKind

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _date(year: int, month: int | None = None, day: int | None = None) -> PubDate:
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return PubDate(year=year, month=month, day=day, precision=precision)


def items() -> list[BulletinItem]:
    return [
        BulletinItem(
            entry_id=1,
            candidate_id=11,
            work_id=101,
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
            abstract=(
                AbstractSection("District nurses support people to manage long-term conditions."),
            ),
        ),
        BulletinItem(
            entry_id=2,
            candidate_id=12,
            work_id=102,
            # as a reference manager exports it from the publisher's page (title case, "Or")
            title="Equal, Equitable Or Exacerbating Inequalities: Patterns and Predictors of Social Prescribing Referrals in 160 128 UK Patients",
            authors=(
                Author(family="Bu", given="Feifei", initials="F"),
                Author(family="Burton", initials="A"),
                Author(family="Launders", initials="N"),
                Author(family="Fancourt", initials="D"),
            ),
            journal="British Journal of Psychiatry",
            journal_iso="Br J Psychiatry",
            pages="1-9",
            pub_date=_date(2024, 11, 21),
            doi="10.1192/bjp.2024.141",
            abstract=(
                AbstractSection(
                    "Social prescribing is a key part of the NHS Long Term Plan.", "BACKGROUND"
                ),
                AbstractSection("Referral data from 160 128 patients in the UK.", "METHOD"),
                AbstractSection(
                    "Referrals rose after COVID-19; VCSE groups received most.", "RESULTS"
                ),
            ),
        ),
        BulletinItem(
            entry_id=3,
            candidate_id=13,
            work_id=103,
            title="Coproduction in social prescribing initiatives: protocol for a scoping review.",
            authors=(
                Author(family="Dougherty", initials="M"),
                Author(family="Lynch", initials="T"),
                Author(family="Oyebode", initials="O"),
            ),
            journal="JMIR research protocols",
            volume="13",
            elocation="pii: e57062; doi: 10.2196/57062",
            pub_date=_date(2024, 10, 15),
            doi="10.2196/57062",
        ),
        BulletinItem(
            entry_id=4,
            candidate_id=14,
            work_id=104,
            title="A drug-free prescription for pain.",
            authors=(Author(family="Brown", given="Claire", initials="C"),),
            journal="Nature",
            volume="633",
            issue="8031",
            pages="S37-9",
            pub_date=_date(2024, 9),
            pmid="39294386",
            edited_summary="A reviewer's own summary of the article.\n\nIn two paragraphs.",
            abstract=(AbstractSection("The abstract that the edited summary replaces."),),
        ),
        BulletinItem(
            entry_id=5,
            candidate_id=15,
            work_id=105,
            title="Social prescribing referrals triple in three years",
            kind=WorkKind.NEWS,
            source_name="BBC Guernsey",
            url="https://www.bbc.co.uk/news/articles/c0jq0x8gn8po",
            published_at=dt.datetime(2024, 12, 17, 9, 30, tzinfo=dt.UTC),
            feed_summary="The number of people referred to social prescribing has tripled.",
        ),
        BulletinItem(
            entry_id=6,
            candidate_id=16,
            work_id=106,
            title="Speech outcomes of link worker referrals in Parkinson's disease.",
            authors=(
                Author(family="Moya-Galé", given="Gemma", initials="G"),
                Author(family="O'Sullivan", given="Jean-Pierre", initials="JP"),
            ),
            journal="Journal of communication disorders",
            volume="110",
            pages="106431",
            pub_date=_date(2024),
            pmid="38900001",
        ),
        BulletinItem(
            entry_id=7,
            candidate_id=17,
            work_id=107,
            title="[Social prescribing in Dutch general practice].",
            authors=(
                Author(family="van der Berg", given="Anna Maria", initials="AM"),
                Author(family="de Vries", initials="P"),
                Author(collective="Social Prescribing Network"),
            ),
            journal="Nederlands tijdschrift voor geneeskunde",
            volume="168",
            pages="D8123",
            pub_date=_date(2024, 11),
            pmid="38900002",
        ),
        BulletinItem(
            entry_id=8,
            candidate_id=18,
            work_id=108,
            title="Social prescribing: a consensus statement.",
            authors=(Author(collective="National Academy for Social Prescribing"),),
            journal="BMJ (Clinical research ed.)",
            volume="387",
            pages="q2150",
            pub_date=_date(2024, 10, 4),
            doi="10.1136/bmj.q2150",
        ),
        BulletinItem(
            entry_id=9,
            candidate_id=19,
            work_id=109,
            title="Does social prescribing work?",
            journal="Drug and therapeutics bulletin",
            volume="62",
            issue="11",
            pages="162-3",
            pub_date=_date(2024, 11),
            url="https://dtb.bmj.com/content/62/11/162",
        ),
        BulletinItem(
            entry_id=10,
            candidate_id=20,
            work_id=110,
            title=f"Green prescriptions {XSS}",
            kind=WorkKind.NEWS,
            source_name=f"Evil Site {XSS}",
            url="javascript:alert(1)",
            feed_summary=f"Summary with {XSS} and [a](javascript:alert(2)) *md*",
        ),
    ]


def doc(style: str = "house") -> BulletinDoc:
    return BulletinDoc(
        title="SOCIAL PRESCRIBING",
        subtitle="Evidence Bulletin",
        period_from=dt.date(2024, 10, 1),
        period_to=dt.date(2024, 11, 30),
        period_text="October–November 2024",
        sections=(SectionSpec("NEW EVIDENCE"),),
        resources=(
            Resource(
                "NHS England and Social Prescribing",
                "https://www.england.nhs.uk/personalisedcare/social-prescribing/",
            ),
        ),
        footer="This Evidence Bulletin is a service of the library and knowledge team.",
        contact="library@example.org",
        style=style,
        items=tuple(items()),
    )
