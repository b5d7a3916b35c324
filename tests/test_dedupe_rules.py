"""Dedupe rules against false merges on real exports, each with a merge and a keep-apart case.

All records are written for these tests: recurring titles, issues, notices recognised by their
structure, journal abbreviations, errata under the article's title, short titles, article
numbers.
"""

from __future__ import annotations

from dataclasses import replace

from harvester.core.dedupe.match import compare, hit_keys
from harvester.core.dedupe.rules import issue_numbers, journal_forms, journals_agree, title_class
from harvester.core.models import AbstractSection, Author, Hit, PubDate, WorkKind
from harvester.core.normalise import first_page, last_page, normalise_title, repair_pages

TITLE = "Effects of early mobilisation on functional recovery after acute ischaemic stroke"


def record(**changes: object) -> Hit:
    values: dict[str, object] = {
        "source": "import:ris",
        "source_id": "1",
        "title": TITLE,
        "authors": [Author(family="Okafor", given="N")],
        "journal": "Stroke Research",
        "volume": "12",
        "issue": "3",
        "pages": "201-209",
        "pub_date": PubDate(2019),
    }
    values.update(changes)
    return Hit(**values)  # type: ignore[arg-type]


def same(a: Hit, b: Hit) -> bool:
    verdict = compare(hit_keys(a), hit_keys(b))
    back = compare(hit_keys(b), hit_keys(a))
    assert (verdict is not None and verdict.same) == (back is not None and back.same)
    return verdict is not None and verdict.same


def classify(title: str, types: tuple[str, ...] = ()) -> tuple[str | None, str, bool]:
    found = title_class(title, normalise_title(title), types)
    return found.notice, found.notice_title, found.recurring


# --- recurring titles: one item only at one bibliographic position -----------------------


def column(**changes: object) -> Hit:
    values: dict[str, object] = {
        "title": "Editor's Comments",
        "authors": [Author(family="Rai", given="A")],
        "journal": "MIS Quarterly",
        "volume": "41",
        "issue": "1",
        "pages": "iii-vi",
        "pub_date": PubDate(2017),
    }
    values.update(changes)
    return record(**values)


def test_a_recurring_column_merges_only_at_the_same_volume_issue_and_pages() -> None:
    assert same(column(), column(journal="MIS Q"))
    assert not same(column(), column(issue="2"))  # the same column in the next issue
    assert not same(column(), column(issue=None))  # position not established
    assert not same(column(), column(pages="vii-x"))
    assert not same(column(pages="1-2"), column(pages="1-3"))
    assert not same(column(volume=None), column(volume=None))


def test_a_recurring_title_merges_through_a_shared_identifier() -> None:
    assert same(column(doi="10.1000/misq.41.1.ed"), column(issue="2", doi="10.1000/misq.41.1.ed"))
    assert not same(column(doi="10.1000/misq.41.1.ed"), column(doi="10.1000/misq.41.2.ed"))


def test_recurring_title_kinds() -> None:
    for title in (
        "Editorial",
        "Editor's comments",
        "From the Editor",
        "In this issue",
        "Letter to the editor",
        "Reply",
        "Authors' reply",
        "In reply",
        "Commentary",
        "Book reviews",
        "Erratum",
        "Re: " + TITLE,
        "Comment on: " + TITLE,
        "Introduction to the Minitrack on Digital Work",
    ):
        assert classify(title)[2], title
    for title in (TITLE, "Response to treatment in stroke units", "Re-evaluation of stroke scales"):
        assert not classify(title)[2], title


def test_a_reply_never_merges_with_the_article_it_answers() -> None:
    reply = record(title="Re: " + TITLE, pages="1120", issue="9")
    assert not same(record(), reply)
    assert same(reply, record(title="RE: " + TITLE, pages="1120", issue="9"))


# --- issues ----------------------------------------------------------------------------------


def test_issue_numbers() -> None:
    assert issue_numbers("04") == {"4"}
    assert issue_numbers("2-3") == {"2", "3"}
    assert issue_numbers("Suppl 1") == {"s1"}
    assert issue_numbers(None) == frozenset()


def test_a_page_range_in_another_issue_is_another_article() -> None:
    # Same author, year, volume and pages; a reworded title: the same place only in one issue.
    reworded = record(title="Functional outcome of very early rehabilitation in stroke patients")
    assert same(record(), reworded)
    assert not same(record(), record(title=reworded.title, issue="4"))
    # a title sharing most words still merges: an export's issue field can hold a record number
    closer = "Early mobility and recovery of function after ischaemic stroke"
    assert same(record(), record(title=closer, issue="1113"))
    # journals paginated per issue: pages 1-8 of issue 3 and of issue 4
    first = record(title="Telestroke networks in rural hospitals", pages="1-8")
    other = record(title="Rural hospital networks for telestroke triage", pages="1-8")
    assert not same(first, record(title=other.title, pages="1-8", issue="4"))


def test_issue_2_3_includes_issue_3() -> None:
    reworded = record(title="Functional outcome of very early rehabilitation in stroke patients")
    assert same(record(issue="2-3"), reworded)
    assert not same(record(issue="4-5"), reworded)


# --- notices by their structure ------------------------------------------------------------


def test_notices_are_recognised_by_their_structure() -> None:
    assert classify("Erratum to: " + TITLE)[:2] == ("erratum-of", normalise_title(TITLE))
    assert classify("Correction to: " + TITLE)[0] == "erratum-of"
    assert classify("Correction: " + TITLE)[0] == "erratum-of"
    assert classify("Corrigendum to " + TITLE)[0] == "erratum-of"
    assert classify("Correction")[0] == "erratum-of"
    assert classify(f'Correction to "{TITLE}"')[:2] == ("erratum-of", normalise_title(TITLE))
    assert classify("Retraction: " + TITLE)[0] == "retraction-of"
    assert classify("Retraction notice to " + TITLE)[0] == "retraction-of"
    assert classify("Notice of retraction")[0] == "retraction-of"
    assert classify("Expression of concern: " + TITLE)[0] == "concern-of"
    assert classify(TITLE, ("Published Erratum",))[0] == "erratum-of"


def test_a_medical_correction_or_retraction_is_an_ordinary_article() -> None:
    for title in (
        "Correction of severe scoliosis with posterior instrumentation",
        "Correction for multiple comparisons in stroke trials",
        "Retraction of the upper eyelid after facial palsy",
        "Corrections of hyponatraemia in the intensive care unit",
    ):
        assert classify(title) == (None, "", False), title
    scoliosis = "Correction of severe scoliosis with posterior instrumentation"
    assert same(record(title=scoliosis), record(title=scoliosis.upper(), issue=None))


def test_a_notice_is_linked_to_its_article_not_merged() -> None:
    notice = record(title="Correction: " + TITLE, pages="1300", issue="5")
    verdict = compare(hit_keys(notice), hit_keys(record()))
    assert verdict is not None and not verdict.same and verdict.relation == "erratum-of"


def test_a_shared_doi_beats_a_notice_known_only_from_one_side() -> None:
    doi = "10.1000/stroke.corr.1"
    pubmed = record(title="Correction", doi=doi, pmid="9", publication_types=["Published Erratum"])
    exported = record(title="Correction to: " + TITLE, doi=doi)
    untyped = record(title="Notice", doi=doi, pages="1300")
    assert same(pubmed, exported)
    assert same(pubmed, untyped)  # the export dropped the publication type
    # both records state their types: an article and a notice never merge
    article = record(doi=doi, publication_types=["Journal Article"])
    assert not same(pubmed, article)


# --- errata under the article's own title ----------------------------------------------------


def test_a_one_page_item_far_from_the_article_in_its_volume_is_not_the_article() -> None:
    assert not same(record(), record(issue="7", pages="1304"))
    assert not same(record(issue=None), record(issue=None, pages="1304"))
    # a garbled range of the same article still merges ("t-9": the first page lost)
    assert same(record(issue=None), record(issue=None, pages="t-9"))
    assert same(record(issue=None), record(issue=None, pages="201"))


# --- journals ----------------------------------------------------------------------------------


def test_journal_abbreviations_and_full_titles() -> None:
    def agree(a: str, b: str) -> bool | None:
        return journals_agree(journal_forms(a), journal_forms(b))

    assert agree("Chin Med J (Engl)", "Chinese Medical Journal")
    assert agree(
        "J. Neurol. Neurosurg. Psychiatry", "Journal of Neurology, Neurosurgery & Psychiatry"
    )
    assert agree("BMJ", "British Medical Journal")
    assert agree("Amcis 2017 Proceedings", "Americas Conference on Information Systems")
    assert agree("Ai zheng = Aizheng = Chinese journal of cancer", "Chinese Journal of Cancer")
    assert agree("PLoS ONE [Electronic Resource]", "PLOS One")
    assert not agree("Chin Med J (Engl)", "Chinese Journal of Cancer")
    assert not agree("Blood", "British Journal of Haematology")
    assert not agree("Stroke", "Journal of Stroke and Cerebrovascular Diseases")
    assert agree("Stroke", "") is None


def test_records_naming_one_journal_two_ways_merge() -> None:
    iso = record(journal="Chin Med J (Engl)", volume=None, issue=None, pages=None)
    full = record(journal="Chinese Medical Journal", volume=None, issue=None, pages=None)
    other = record(journal="Chinese Journal of Cancer", volume=None, issue=None, pages=None)
    assert same(iso, full)
    assert not same(iso, other)


# --- short titles and article numbers ---------------------------------------------------------


def test_a_short_title_merges_only_at_one_page_range() -> None:
    short = record(title="Intrapleural therapy", issue=None)
    assert same(short, record(title="Intrapleural therapy.", issue=None))
    assert not same(short, record(title="Intrapleural therapy", issue=None, pages=None))
    assert not same(short, record(title="Intrapleural therapy", issue=None, pages="410-418"))


def test_review_updates_share_their_article_number() -> None:
    review = record(journal="Cochrane Database Syst Rev", volume=None, issue=None)
    first = replace(review, pages="CD006828", pub_date=PubDate(2008))
    update = replace(review, pages="CD006828", pub_date=PubDate(2012))
    other = replace(review, pages="CD006829", pub_date=PubDate(2012))
    assert same(first, update)
    assert not same(first, other)


# --- page ranges a spreadsheet turned into dates ----------------------------------------------


def test_a_page_range_read_as_a_date_is_the_range() -> None:
    assert repair_pages("01-Aug") == "1-8"  # "1-8" as day and month
    assert repair_pages("Aug-15") == "8-15"  # "8-15" as month and day
    assert repair_pages("15-Aug") == "8-15"
    assert repair_pages("May-45") == "5-45"  # "5-45" as month and year
    assert repair_pages("Sept-3") == "3-9"
    assert (first_page("01-Aug"), last_page("01-Aug")) == ("1", "8")
    for pages in ("Mark-12", "S1-S8", "e0123", "Aug", "00-Jan", "iii-vi", "1-8"):
        assert repair_pages(pages) == pages


def test_records_with_a_spreadsheet_mangled_range_merge_at_that_range() -> None:
    short = record(title="Empyema thoracis", issue=None)
    assert same(replace(short, pages="01-Aug"), replace(short, pages="1-8"))
    assert same(replace(short, pages="Aug-15"), replace(short, pages="8-15"))
    # another range: 1-8 is not 8-15
    assert not same(replace(short, pages="01-Aug"), replace(short, pages="Aug-15"))
    assert not same(replace(short, pages="01-Aug"), replace(short, pages="1-9"))


# --- one author team at one page range, whatever the issue field says ---------------------------


def test_a_short_title_of_one_team_at_one_range_merges_across_issue_fields() -> None:
    team = [Author(family="Okafor", given="N"), Author(family="Lindqvist", given="M")]
    short = record(title="Empyema thoracis", authors=team, pages="1-8")
    # the issue field holds a record number in one export, another in the other
    assert same(replace(short, issue="585"), replace(short, issue="586"))
    # one author only: per-issue pagination puts one column at pages 1-8 of every issue
    alone = replace(short, authors=team[:1])
    assert not same(replace(alone, issue="585"), replace(alone, issue="586"))
    # another team, another range, another year
    other = [team[0], Author(family="Haddad", given="R")]
    assert not same(replace(short, issue="3"), replace(short, issue="4", authors=other))
    assert not same(replace(short, issue="3"), replace(short, issue="4", pages="1-9"))
    assert not same(replace(short, issue="3"), replace(short, issue="4", pub_date=PubDate(2020)))


# --- the place in the volume is a blocking key ----------------------------------------------------


def test_records_at_one_place_in_one_volume_share_a_blocking_key() -> None:
    """A title reworded by one database and a missing first author leave no title or author key
    in common; the volume, page range and year still bring the records together."""
    reworded = record(title="Very early rehabilitation and functional outcome", authors=[])
    assert set(hit_keys(record()).blocks()) & set(hit_keys(reworded).blocks())
    assert not set(hit_keys(record()).blocks()) & set(
        hit_keys(replace(reworded, pages="211-219")).blocks()
    )
    assert not set(hit_keys(record()).blocks()) & set(
        hit_keys(replace(reworded, pages="201")).blocks()  # no range: too common a place
    )


# --- a column that recurs issue after issue, without pages -----------------------------------


def test_a_column_in_two_issues_without_pages_stays_two_items() -> None:
    title = "Practical pearls for the stroke nurse: positioning the hemiplegic arm"
    column = record(title=title, pages=None, issue="3")
    assert not same(column, record(title=title, pages=None, issue="4"))
    # pages on one side: the issue field may be an export's record number
    assert same(record(title=title, issue="1112"), record(title=title, pages=None, issue="1113"))
    # the same column in one issue, or with no issue given by one export, is one item
    assert same(column, record(title=title.upper(), pages=None, issue="3"))
    assert same(column, record(title=title, pages=None, issue=None))


# --- a notice indexed under the article's own citation -----------------------------------------


def test_a_notice_at_the_article_citation_is_the_article() -> None:
    notice = record(title="Erratum: " + TITLE, doi="10.1000/stroke.err.9")
    verdict = compare(hit_keys(notice), hit_keys(record()))
    assert verdict is not None and verdict.same
    assert same(record(title="Correction to: " + TITLE, issue=None), record())


def test_a_notice_at_its_own_citation_or_with_its_own_id_is_linked() -> None:
    for notice in (
        record(
            title="Erratum: " + TITLE, volume="13", issue="1", pages="88", pub_date=PubDate(2020)
        ),
        record(title="Erratum: " + TITLE, pages="210-211"),  # another place in the volume
        record(title="Erratum: " + TITLE, pub_date=PubDate(2020)),
        record(title="Erratum: " + TITLE, journal="Journal of Nursing Research"),
    ):
        verdict = compare(hit_keys(notice), hit_keys(record()))
        assert verdict is not None and not verdict.same, notice
    # two PMIDs: two records, whatever the citation says
    assert not same(record(title="Erratum: " + TITLE, pmid="2"), record(pmid="1"))


# --- translated titles -------------------------------------------------------------------------


def test_a_translated_title_matches_on_the_place_and_the_author() -> None:
    original = record(
        title="Frühmobilisation nach akutem ischämischem Schlaganfall", journal="Der Nervenarzt"
    )
    for english in (
        "[Early mobilisation after acute ischaemic stroke].",
        "Early mobilisation after acute ischaemic stroke [German]",
        "Early mobilisation after acute ischaemic stroke [Article in German]",
    ):
        # one export gives the first page only
        assert same(original, record(title=english, journal="Nervenarzt", pages="201")), english
        assert same(original, record(title=english, journal="Nervenarzt", issue=None)), english


def test_a_translated_title_at_another_place_or_by_another_author_is_another_article() -> None:
    original = record(title="Frühmobilisation nach akutem ischämischem Schlaganfall")
    english = "[Early mobilisation after acute ischaemic stroke]."
    assert not same(original, record(title=english, pages="210-219"))
    assert not same(original, record(title=english, authors=[Author(family="Weber", given="K")]))
    assert not same(original, record(title=english, volume="13"))
    # without the translation mark, an unrelated title at the same place needs shared words
    assert not same(
        original, record(title="Early mobilisation after acute ischaemic stroke", issue="4")
    )


# --- family names with particles ---------------------------------------------------------------


def test_family_names_with_particles_written_two_ways_agree() -> None:
    for family, other in (
        ("Le Quintrec", "Quintrec"),
        ("van der Berg", "Berg"),
        ("D'Amico", "Amico"),
    ):
        a = record(
            title="Renal outcomes of lupus nephritis",
            authors=[Author(family=family), Author(family="Okafor")],
        )
        b = record(
            title="Renal outcomes of lupus nephritis",
            authors=[Author(family=other), Author(family="Okafor")],
        )
        assert hit_keys(a).blocks()[-2:] != [] and set(hit_keys(a).blocks()) & set(
            hit_keys(b).blocks()
        )
        assert hit_keys(a).authors == hit_keys(b).authors
        assert same(a, b)


def test_a_particle_alone_or_another_family_name_does_not_agree() -> None:
    title = "Renal outcomes of lupus nephritis"
    assert hit_keys(record(authors=[Author(family="Le")])).authors == ("le",)
    assert not same(
        record(title=title, authors=[Author(family="van der Berg")], pages=None, volume=None),
        record(title=title, authors=[Author(family="van der Meer")], pages=None, volume=None),
    )


# --- one abstract in two printings -------------------------------------------------------------

ABSTRACT = (
    "BACKGROUND: Early mobilisation is recommended after stroke but its timing is debated. "
    "METHODS: We randomised 412 patients within 24 hours of an acute ischaemic stroke to very "
    "early mobilisation or usual care in six stroke units and measured the modified Rankin score "
    "at three months. RESULTS: Favourable outcome was reached by 46% and 49% of patients, a "
    "difference that was not significant; falls and deaths did not differ. CONCLUSIONS: Very "
    "early mobilisation did not improve function at three months, and a trial of mobilisation "
    "from the second day is needed before guidelines change. "
)


def test_the_same_long_abstract_under_another_issue_or_pages_is_one_article() -> None:
    first = record(abstract=[AbstractSection(text=ABSTRACT)])
    reprint = record(
        title="Timing of mobilisation after stroke: a randomised trial",
        issue="5",
        pages="330-338",
        abstract=[
            AbstractSection(text=ABSTRACT.replace("BACKGROUND: ", "") + "© 2019 The Authors.")
        ],
    )
    verdict = compare(hit_keys(first), hit_keys(reprint))
    assert verdict is not None and verdict.same and verdict.reason == "abstract+author"
    assert set(hit_keys(first).blocks()) & set(hit_keys(reprint).blocks())


def test_a_shared_abstract_in_another_journal_by_another_author_or_short_stays_apart() -> None:
    first = record(abstract=[AbstractSection(text=ABSTRACT)])
    other = {"title": "Timing of mobilisation after stroke", "issue": "5", "pages": "330-338"}
    assert not same(
        first,
        record(
            **other, journal="Clinical Rehabilitation", abstract=[AbstractSection(text=ABSTRACT)]
        ),
    )
    assert not same(
        first,
        record(
            **other, authors=[Author(family="Weber")], abstract=[AbstractSection(text=ABSTRACT)]
        ),
    )
    assert not same(
        first, record(**other, pub_date=PubDate(2022), abstract=[AbstractSection(text=ABSTRACT)])
    )
    short = [AbstractSection(text="No abstract available.")]
    assert not same(record(abstract=short), record(**other, abstract=short))


# --- conference papers: the venue is a proceedings title -------------------------------------


def paper(**changes: object) -> Hit:
    values: dict[str, object] = {
        "title": "Trust in sharing economy platforms: the role of host photos",
        "authors": [Author(family="Deng", given="C")],
        "journal": "Proceedings of the 50th Annual Hawaii International Conference on System Sciences",
        "volume": None,
        "issue": None,
        "pages": None,
        "pub_date": PubDate(2017),
        "kind": WorkKind.OTHER,
    }
    values.update(changes)
    return record(**values)


def test_a_conference_paper_under_two_forms_of_its_proceedings_title_is_one_paper() -> None:
    assert same(paper(), paper(journal="Hawaii International Conference on System Sciences"))
    assert same(paper(), paper(journal="HICSS 2017 Proceedings"))
    assert same(paper(), paper(journal=None))  # one export left the proceedings out


def test_a_conference_paper_and_its_journal_version_or_another_meeting_stay_apart() -> None:
    journal = paper(
        journal="Journal of Management Information Systems",
        volume="34",
        pages="120-141",
        kind=WorkKind.ARTICLE,
    )
    assert not same(paper(), journal)
    assert not same(paper(), paper(journal="Americas Conference on Information Systems"))
    assert not same(paper(), paper(journal=None, pub_date=PubDate(2018)))


# --- neighbouring items of one title in one volume ---------------------------------------------


def test_one_title_a_few_pages_apart_in_one_volume_is_two_items() -> None:
    part = "Genetic analysis of the behavioural response to amphetamine in mice"
    assert not same(record(title=part, pages="263-7"), record(title=part, pages="269-76"))
    assert not same(record(title=part, pages="5"), record(title=part, pages="11"))
    # overlapping or equal ranges, a range and its first page: one item
    assert same(record(title=part, pages="263-7"), record(title=part, pages="263-267"))
    assert same(record(title=part, pages="263-7"), record(title=part, pages="263"))
    # a range far off in the volume is more likely one database's error than another item
    assert same(
        record(title=part, pages="1324-1327", issue=None),
        record(title=part, pages="84-87", issue=None),
    )


def test_a_short_title_merges_at_one_page_of_one_volume_by_one_author() -> None:
    letter = record(title="Sputum fixatives", pages="493", issue=None)
    assert same(
        letter, record(title="Sputum fixatives.", pages="493", issue=None, journal="Stroke Res")
    )
    assert not same(letter, record(title="Sputum fixatives", pages="497", issue=None))
    assert not same(
        letter,
        record(title="Sputum fixatives", pages="493", issue=None, authors=[Author(family="Weber")]),
    )


def test_journal_names_with_a_leading_article_or_another_spelling_of_a_vowel_pair() -> None:
    def agree(a: str, b: str) -> bool | None:
        return journals_agree(journal_forms(a), journal_forms(b))

    assert agree("Torace", "Il Torace")
    assert agree("Prakt Anaesth", "Praktische Anasthesie, Wiederbelebung und Intensivtherapie")
    assert agree("Paediatr Anaesth", "Pediatric anesthesia")
    assert not agree("Anaesthesia", "Anatomical Record")
    assert not agree("Torace", "Il Polmone")


def test_two_article_numbers_are_two_articles() -> None:
    one = record(pages="e51857", issue=None)
    assert not same(one, record(pages="e53112", issue=None))
    assert same(one, record(title=TITLE.upper(), pages="e51857", issue=None))


def test_two_records_of_one_notice_without_an_id_are_one_notice() -> None:
    erratum = record(title="Erratum.", authors=[], pages="748-749")
    assert same(erratum, record(title="Erratum", authors=[], pages="748-749", journal="Stroke Res"))
    assert not same(erratum, record(title="Erratum", authors=[], pages="750"))
    assert not same(erratum, record(title="Erratum", authors=[], pages=None, volume=None))
    correction = record(title="Correction to: " + TITLE, volume=None, issue=None, pages=None)
    assert same(
        correction, record(title="Correction to: " + TITLE.lower(), volume=None, pages=None)
    )
    assert not same(correction, record(title="Correction to: " + TITLE, pub_date=PubDate(2021)))


def test_front_matter_and_the_body_of_a_volume_are_two_items() -> None:
    preface = record(
        title="Cost containment in the health care industry", pages="xi-xii", issue=None
    )
    assert not same(preface, record(title=preface.title, pages="1-17", issue=None))
    assert same(preface, record(title=preface.title.upper(), pages="xi-xii", issue=None))


def test_a_preprint_server_named_with_its_subtitle_is_a_preprint_venue() -> None:
    server = record(journal="bioRxiv : the preprint server for biology", volume=None, pages=None)
    assert hit_keys(server).preprint
    assert same(server, record(journal="bioRxiv", volume=None, pages=None, issue=None))
    assert not same(server, record())  # the published version is linked, not merged
