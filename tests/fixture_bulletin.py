"""A bulletin of articles and news written for the suite, as a library sends it: the four example
lines of the real bulletin the house style comes from, news by a source and by a journalist, an
article number with its page count, a structured abstract with the publisher's labels, an
abstract of several paragraphs, a journal with its qualifier, the period given, additional
resources with their link text, a footer of two paragraphs, the contact address and a logo."""

from __future__ import annotations

import datetime as dt
import struct
import zlib

from harvester.core.bulletin import BulletinDoc, BulletinItem, Logo, Resource, SectionSpec
from harvester.core.models import AbstractSection, Author, DatePrecision, PubDate, WorkKind
from harvester.core.text import abstract_sections

PERIOD = "October–November 2024"
#: The four example lines of the issue that introduced the house style (Markdown).
EXAMPLE_LINES = (
    "Vaughan, K., and Lavery, J. (2024) '[Self-Management of Long-Term Conditions: A District "
    "Nursing Perspective of Patient Engagement.](https://doi.org/10.12968/bjcn.2024.29.10.474)' "
    "*British Journal of Community Nursing* 29(10), 474–479.",
    "Bu, F., et al. (2024) '[Equal, Equitable Or Exacerbating Inequalities: Patterns and "
    "Predictors of Social Prescribing Referrals in 160 128 UK Patients.]"
    "(https://doi.org/10.1192/bjp.2024.141)' *British Journal of Psychiatry* , 1–9.",
    "Dougherty, M., et al. (2024) '[Coproduction in Social Prescribing Initiatives: Protocol for "
    "a Scoping Review.](https://doi.org/10.2196/57062)' *JMIR Research Protocols* 13, e57062.",
    "Brown, C. (2024) '[A Drug-Free Prescription for Pain.](https://doi.org/10.1038/d41586-024-"
    "02998-5)' *Nature* 633(8031), S37–S39.",
)


def _date(year: int, month: int | None = None, day: int | None = None) -> PubDate:
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return PubDate(year=year, month=month, day=day, precision=precision)


def logo_png() -> bytes:
    """A small PNG drawn for the suite: a blue band with a white square."""
    width, height = 120, 40
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            white = 10 <= x < 40 and 8 <= y < 32
            row += bytes((255, 255, 255) if white else (0, 94, 184))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _sections(text: str) -> tuple[AbstractSection, ...]:
    return tuple(AbstractSection(text=part, label=label) for label, part in abstract_sections(text))


def items() -> list[BulletinItem]:
    return [
        BulletinItem(
            entry_id=1,
            candidate_id=1,
            work_id=1,
            title="Self-management of long-term conditions: a district nursing perspective of patient engagement.",
            authors=(
                Author(family="Vaughan", given="Karen"),
                Author(family="Lavery", given="Jane"),
            ),
            journal="British journal of community nursing",
            journal_iso="Br J Community Nurs",
            volume="29",
            issue="10",
            pages="474-9",
            pub_date=_date(2024, 10, 2),
            doi="10.12968/bjcn.2024.29.10.474",
            # an abstract exported by a reference manager: headings on their own lines
            abstract=_sections(
                "Aim\nTo explore how district nurses support patient engagement in the\n"
                "self-management of long-term conditions.\n"
                "Design and setting\nA qualitative study in two community nursing teams.\n"
                "Findings\nNurses balanced support with encouraging independence."
            ),
        ),
        BulletinItem(
            entry_id=2,
            candidate_id=2,
            work_id=2,
            # as the publisher's page gives it, and a reference manager exports it
            title="Equal, Equitable Or Exacerbating Inequalities: Patterns and Predictors of Social Prescribing Referrals in 160 128 UK Patients",
            authors=(
                Author(family="Bu", given="Feifei"),
                Author(family="Burton", given="Alexandra"),
                Author(family="Launders", given="Naomi"),
                Author(family="Fancourt", given="Daisy"),
            ),
            journal="British Journal of Psychiatry",
            pages="1-9",
            pub_date=_date(2024, 11, 21),
            doi="10.1192/bjp.2024.141",
            # PubMed XML: AbstractText elements with Label attributes
            abstract=(
                AbstractSection(
                    "Social prescribing is part of the NHS Long Term Plan.", "BACKGROUND"
                ),
                AbstractSection("Who is referred, and is referral equitable?", "AIMS"),
                AbstractSection(
                    "Referrals rose after COVID-19; VCSE groups received most.", "RESULTS"
                ),
            ),
        ),
        BulletinItem(
            entry_id=3,
            candidate_id=3,
            work_id=3,
            title="Coproduction in social prescribing initiatives: protocol for a scoping review.",
            authors=(
                Author(family="Dougherty", initials="M"),
                Author(family="Lynch", initials="T"),
                Author(family="Oyebode", initials="O"),
            ),
            journal="JMIR research protocols",
            volume="13",
            elocation="doi: 10.2196/57062; pii: e57062",
            pub_date=_date(2024, 10, 15),
            doi="10.2196/57062",
            # an abstract of two plain paragraphs
            abstract=_sections(
                "Coproduction is widely promoted in social prescribing.\n\n"
                "This protocol sets out a scoping review of how it is done."
            ),
        ),
        BulletinItem(
            entry_id=4,
            candidate_id=4,
            work_id=4,
            title="A drug-free prescription for pain.",
            authors=(Author(family="Brown", given="Claire"),),
            journal="Nature",
            volume="633",
            issue="8031",
            pages="S37-9",
            pub_date=_date(2024, 9),
            doi="10.1038/d41586-024-02998-5",
        ),
        BulletinItem(
            entry_id=5,
            candidate_id=5,
            work_id=5,
            title="Social prescribing for older adults living alone - a qualitative study",
            authors=(Author(family="Patel", given="Ravi"), Author(family="Okafor", given="Ada")),
            journal="Scientific reports",
            journal_iso="Sci Rep",
            volume="14",
            issue="1",
            pages="30517-12",
            elocation="pii: 30517",
            pub_date=_date(2024, 11, 4),
            pmid="39600001",
        ),
        BulletinItem(
            entry_id=6,
            candidate_id=6,
            work_id=6,
            title="Where to start? a scoping review of green social prescribing",
            authors=(Author(collective="National Academy for Social Prescribing"),),
            journal="The Lancet (London, England)",
            volume="404",
            pages="2140-8",
            elocation="pii: 2140",
            pub_date=_date(2024, 11),
            doi="10.1016/S0140-6736(24)00001-1",
        ),
        BulletinItem(
            entry_id=7,
            candidate_id=7,
            work_id=7,
            title="Social prescribing referrals triple in three years",
            kind=WorkKind.NEWS,
            source_name="BBC Guernsey",
            url="https://www.bbc.co.uk/news/articles/c0jq0x8gn8po",
            published_at=dt.datetime(2024, 11, 17, 9, 30, tzinfo=dt.UTC),
            feed_summary="Referrals to social prescribing in Guernsey have tripled.\n\n"
            "The service now takes referrals from pharmacists too.",
        ),
        BulletinItem(
            entry_id=8,
            candidate_id=8,
            work_id=8,
            title="Nature and outdoors increasingly prescribed by GPs",
            kind=WorkKind.NEWS,
            source_name="Parkhill, H.",  # the byline typed into the source field
            url="https://example.org/news/nature-prescribed",
            published_at=dt.datetime(2024, 10, 12, 7, 0, tzinfo=dt.UTC),
            edited_summary="GPs in England are prescribing time outdoors more often.",
        ),
    ]


def doc(locale: str = "en-GB") -> BulletinDoc:
    return BulletinDoc(
        title="SOCIAL PRESCRIBING",
        subtitle="Evidence Bulletin",
        period_text=PERIOD,
        sections=(SectionSpec("NEW EVIDENCE"),),
        resources=(
            Resource(
                "The King's Fund and Social Prescribing",
                "https://www.kingsfund.org.uk/insight-and-analysis/long-reads/social-prescribing",
                "Learn more",
            ),
            Resource(
                "NHS England and Social Prescribing",
                "https://www.england.nhs.uk/personalisedcare/social-prescribing/",
                "Read the guidance",
            ),
        ),
        footer=(
            "This Evidence Bulletin is a service of the library and knowledge team.\n\n"
            "For literature searches, articles and training, write to the library at the "
            "address below."
        ),
        contact="library@example.org",
        logo=Logo(logo_png(), "image/png", "Library and knowledge service"),
        locale=locale,
        items=tuple(items()),
    )
