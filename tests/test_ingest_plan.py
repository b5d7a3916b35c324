"""The ingest planner without a database: every rule that decides what a batch of hits does.

``Memory`` keeps what a store would keep as plain dicts and applies plans to them, so that a
test can store hits, then plan more against what is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from harvester.core.dedupe import match
from harvester.core.dedupe.match import Keys, Verdict, compare
from harvester.core.ingest import bridge, feeds
from harvester.core.ingest.plan import NEW_BASE, HitOutcome, Plan
from harvester.core.ingest.planner import PlanError, batch_facts, likely_targets, plan_batch
from harvester.core.ingest.snapshot import (
    KeysDoc,
    Snapshot,
    StoredCandidate,
    StoredSighting,
    StoredWork,
)
from harvester.core.ingest.workkeys import relation_name
from harvester.core.merge import MERGED_FIELDS
from harvester.core.models import Author, CandidateStatus, Hit, PubDate, Relation, WorkKind
from harvester.core.normalise import lookup_finds

NOW = dt.datetime(2025, 3, 1, 9, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=1)
TITLE = "Social prescribing for people with long-term conditions: a cohort study"
FEED = "https://news.example.org/rss"


def article(**changes: Any) -> Hit:
    values: dict[str, Any] = {
        "source": "pubmed",
        "source_id": "38000001",
        "origin": "query:abc",
        "title": TITLE,
        "pmid": "38000001",
        "doi": "10.1000/sp.2024.1",
        "authors": [Author(family="Example", given="Ann", initials="A")],
        "journal": "Journal of Test Records",
        "volume": "12",
        "pages": "101-109",
        "pub_date": PubDate(2024),
    }
    values.update(changes)
    return Hit(**values)


def record(**changes: Any) -> Hit:
    """The article as a reference file exports it: no ids."""
    values: dict[str, Any] = {
        "source": "import:ris",
        "source_id": "rec1",
        "origin": "a.ris",
        "pmid": None,
        "doi": None,
    }
    values.update(changes)
    return article(**values)


def entry(guid: str, title: str, link: str, day: int = 27, **changes: Any) -> Hit:
    values: dict[str, Any] = {
        "source": "feeds",
        "source_id": guid,
        "origin": FEED,
        "title": title,
        "kind": WorkKind.NEWS,
        "url": link,
        "published_at": dt.datetime(2025, 2, day, 7, tzinfo=dt.UTC),
    }
    values.update(changes)
    return Hit(**values)


@dataclass
class Memory:
    """A store as plain values: what the planner's plans leave."""

    works: dict[int, dict[str, Any]] = field(default_factory=dict)
    keys: dict[int, KeysDoc | None] = field(default_factory=dict)
    sightings: dict[int, StoredSighting] = field(default_factory=dict)
    owners: dict[tuple[str, str], int] = field(default_factory=dict)
    blocks: dict[str, list[int]] = field(default_factory=dict)
    candidates: dict[int, StoredCandidate] = field(default_factory=dict)
    links: set[tuple[int, int, str]] = field(default_factory=set)
    merges: list[tuple[int, int]] = field(default_factory=list)

    def found(self, lookups: Iterable[str]) -> dict[str, tuple[int, ...]]:
        """The works each lookup finds, as the store's loader reads them."""
        return {
            lookup: tuple(
                sorted(
                    {
                        r
                        for key, refs in self.blocks.items()
                        if lookup_finds(lookup, key)
                        for r in refs
                    }
                )
            )
            for lookup in lookups
        }

    def snapshot(self, hits: Sequence[Hit] = ()) -> Snapshot:
        """What the loader reads for ``hits``."""
        titles: dict[int, list[str | None]] = {}
        for s in sorted(self.sightings.values(), key=lambda s: s.id):
            titles.setdefault(s.work_id, []).append(s.title)
        urls: dict[int, list[str]] = {}
        for (kind, value), work_id in self.owners.items():
            if kind == "url":
                urls.setdefault(work_id, []).append(value)
        return Snapshot(
            works={
                i: StoredWork(i, f, self.keys[i], tuple(titles.get(i, ())), tuple(urls.get(i, ())))
                for i, f in self.works.items()
            },
            sightings={s.key: s for s in self.sightings.values()},
            owners=dict(self.owners),
            blocks=self.found(lookup for fact in batch_facts(hits) for lookup in fact.lookups),
            candidates=dict(self.candidates),
            entries={
                w: tuple(s for s in self.sightings.values() if s.work_id == w) for w in self.works
            },
            links=frozenset(self.links),
        )

    def ingest(self, hits: list[Hit], **options: Any) -> tuple[Plan, list[HitOutcome]]:
        """Plan ``hits`` (one plan; all of them unless a hit bridged two works) and apply it."""
        kwargs: dict[str, Any] = {"topic": "sp", "run_id": None, "now": NOW}
        kwargs.update(options)
        plan, done = plan_batch(self.snapshot(hits), hits, **kwargs)
        assert done == len(hits) or plan.work_merges
        self.apply(plan)
        return plan, plan.outcomes

    def apply(self, plan: Plan) -> None:
        ids: dict[int, int] = {}

        def real(ref: int) -> int:
            return ids.get(ref, ref)

        for work in plan.new_works:
            ids[work.ref] = len(self.works) + 1
            self.works[ids[work.ref]] = {n: work.row[n] for n in (*MERGED_FIELDS, "title_key")}
            self.keys[ids[work.ref]] = KeysDoc.from_document(work.row["dedupe_keys"])
        for change in plan.work_changes:
            values = dict(change.values)
            if "dedupe_keys" in values:
                self.keys[change.work_id] = KeysDoc.from_document(values.pop("dedupe_keys"))
            self.works[change.work_id].update(values)
        for moved in plan.sighting_changes:
            old = self.sightings[moved.sighting_id]
            values = {k: v for k, v in moved.values.items() if k != "last_seen_at"}
            self.sightings[old.id] = replace(old, **values)
        for new in plan.new_sightings:
            sid = len(self.sightings) + 1
            row = new.row
            self.sightings[sid] = StoredSighting(
                sid,
                real(new.ref),
                row["source"],
                row["source_id"],
                row["origin"],
                row["title"],
                row["url"],
                row["match_reason"],
            )
        for ref, kind, value in plan.identities:
            self.owners[(kind, value)] = real(ref)
        for ref, key in plan.block_keys:
            self.blocks.setdefault(key, []).append(real(ref))
        for a, b, relation, _ in plan.links:
            self.links.add((real(a), real(b), relation))
        for made in plan.new_candidates:
            cid = len(self.candidates) + 1
            work_id = real(made.ref)
            self.candidates[work_id] = StoredCandidate(cid, work_id, made.intents[-1].to_status, 1)
        for moves in plan.candidate_moves:
            stored = next(c for c in self.candidates.values() if c.id == moves.candidate_id)
            self.candidates[stored.work_id] = replace(
                stored, status=moves.intents[-1].to_status, version=stored.version + 1
            )
        for merge in plan.work_merges:
            self.merges.append((real(merge.into), real(merge.merged)))


# ----------------------------------------------------------------------- works and merges


def test_a_new_record_starts_a_work_and_a_candidate() -> None:
    plan, (outcome,) = Memory().ingest([article()])
    assert (outcome.work_id, outcome.created, outcome.reason) == (NEW_BASE, True, "new")
    assert outcome.candidate_status == "new" and outcome.new_sighting
    (work,) = plan.new_works
    assert work.row["title"] == TITLE and work.row["metadata_source"] == "pubmed"
    assert {(k, v) for _, k, v in plan.identities} == {
        ("pmid", "38000001"),
        ("doi", "10.1000/sp.2024.1"),
    }
    (candidate,) = plan.new_candidates
    assert [i.to_status for i in candidate.intents] == [CandidateStatus.NEW]
    assert plan.block_keys and not plan.work_changes and not plan.links


def test_the_same_record_again_only_touches_its_sighting() -> None:
    store = Memory()
    store.ingest([article()])
    plan, (outcome,) = store.ingest([article()], now=LATER)
    assert (outcome.work_id, outcome.created, outcome.reason) == (1, False, "seen before")
    assert not outcome.new_sighting and not plan.new_works and not plan.new_sightings
    assert [c.values for c in plan.sighting_changes] == [{"last_seen_at": LATER}]
    assert not plan.work_changes and not plan.new_candidates


def test_a_shared_doi_merges_and_a_lower_rank_only_fills_gaps() -> None:
    store = Memory()
    store.ingest([article(abstract=[])])
    ris = record(doi="10.1000/SP.2024.1", title="Another spelling", keywords=["loneliness"])
    plan, (outcome,) = store.ingest([ris])
    assert (outcome.work_id, outcome.reason, outcome.created) == (1, "doi", False)
    (change,) = plan.work_changes
    assert change.values["keywords"] == ["loneliness"] and "title" not in change.values
    assert change.values["updated_at"] == NOW and "dedupe_keys" in change.values


def test_a_higher_rank_replaces_the_fields() -> None:
    store = Memory()
    store.ingest([record(doi="10.1000/sp.2024.1", title="Social prescribing: a cohort")])
    plan, (outcome,) = store.ingest([article()])
    assert outcome.reason == "doi"
    values = plan.work_changes[0].values
    assert values["title"] == TITLE and values["metadata_source"] == "pubmed"


def test_conflicting_pmids_never_merge() -> None:
    store = Memory()
    store.ingest([article()])
    _, (outcome,) = store.ingest([article(source_id="2", pmid="38000002", doi=None)])
    assert outcome.created and outcome.reason == "new"


def test_a_record_without_ids_merges_by_title_year_and_author() -> None:
    store = Memory()
    store.ingest([article()])
    _, (outcome,) = store.ingest([record(title=TITLE.upper())])
    assert outcome.work_id == 1 and outcome.reason.startswith("title+year+author")


def test_later_hits_of_a_batch_see_the_earlier_ones() -> None:
    _, outcomes = Memory().ingest([article(), record(source_id="r2")])
    assert [(o.work_id, o.created) for o in outcomes] == [(NEW_BASE, True), (NEW_BASE, False)]


def test_an_identical_record_from_another_file_joins_its_work() -> None:
    """A title-less, id-less record (nothing for dedupe to compare) imported again under
    another file name is the same record: it joins the work it made the first time."""
    store = Memory()
    bare = record(title="", authors=[], journal="Journal of Test Records", pages="5-9")
    store.ingest([bare])
    plan, (outcome,) = store.ingest([replace(bare, origin="b.ris")])
    assert (outcome.work_id, outcome.reason) == (1, "identical record")
    # one field more and it is not identical: nothing to compare it by, a work of its own
    _, (other,) = store.ingest([replace(bare, origin="c.ris", volume="13")])
    assert other.created


def test_a_notice_is_linked_not_merged() -> None:
    store = Memory()
    store.ingest([article()])
    notice = record(title=f"Erratum: {TITLE}", source_id="e1", pages="300")
    plan, (outcome,) = store.ingest([notice])
    assert outcome.created
    assert [(a, b, rel) for a, b, rel, _ in plan.links] == [(NEW_BASE, 1, "erratum-of")]


def test_a_relation_the_source_states_is_a_link() -> None:
    store = Memory()
    store.ingest([article()])
    erratum = article(
        source_id="38000009",
        pmid="38000009",
        doi=None,
        title="Correction to the cohort study",
        relations=[Relation(type="ErratumFor", ref="x", pmid="38000001")],
    )
    plan, _ = store.ingest([erratum])
    assert (NEW_BASE, 1, "erratum-of") in {(a, b, r) for a, b, r, _ in plan.links}
    assert relation_name("Expression of concern for") == "concern-of"
    assert relation_name("SomethingElse") == "somethingelse"


def test_a_link_already_stored_is_not_added_again() -> None:
    store = Memory()
    store.ingest([article()])
    notice = record(title=f"Erratum: {TITLE}", source_id="e1", pages="300")
    store.ingest([notice])
    plan, (outcome,) = store.ingest([replace(notice, origin="b.ris")])  # joins the notice
    assert outcome.work_id == 2 and not outcome.created
    assert not plan.links


def test_a_block_finds_a_work_without_a_shared_identity() -> None:
    store = Memory()
    store.ingest([article()])
    snapshot = store.snapshot([record()])
    assert all(len(members) == 1 for members in snapshot.blocks.values())
    # without the blocks the stored work is not compared at all
    plan, _ = plan_batch(replace(snapshot, blocks={}), [record()], topic="sp", run_id=None, now=NOW)
    assert plan.outcomes[0].created


# ------------------------------------------------------------------------ deletions


def test_a_deletion_notice_marks_the_work_it_names_and_makes_no_candidate() -> None:
    store = Memory()
    store.ingest([article()])
    plan, (outcome,) = store.ingest([article(source_id="del", deleted=True)])
    assert (outcome.work_id, outcome.reason, outcome.new_sighting) == (1, "deleted", True)
    assert plan.new_sightings[0].row["match_reason"] == "deleted"
    assert plan.new_sightings[0].row["topic"] is None
    assert not plan.new_candidates and not plan.candidate_moves


def test_a_deletion_of_a_stored_record_marks_its_sighting() -> None:
    store = Memory()
    store.ingest([article()])
    plan, (outcome,) = store.ingest([article(deleted=True)], now=LATER)
    assert outcome.reason == "deleted" and not outcome.new_sighting
    assert plan.sighting_changes[0].values == {"last_seen_at": LATER, "match_reason": "deleted"}


def test_a_deletion_naming_nothing_stored_leaves_nothing() -> None:
    plan, (outcome,) = Memory().ingest([article(deleted=True)])
    assert outcome.work_id is None and not plan.new_works and not plan.new_sightings


# ------------------------------------------------------------------------ candidates


def test_an_existing_candidate_keeps_its_status() -> None:
    store = Memory()
    store.ingest([article()])
    store.candidates[1] = replace(store.candidates[1], status=CandidateStatus.REJECTED)
    plan, (outcome,) = store.ingest([record()])
    assert outcome.candidate_status == "rejected"
    assert not plan.new_candidates and not plan.candidate_moves


def test_an_import_moves_a_candidate_forward_once() -> None:
    store = Memory()
    store.ingest([article()])
    plan, (outcome,) = store.ingest([record()], status=CandidateStatus.PUBLISHED, actor="librarian")
    assert outcome.candidate_status == "published"
    (moves,) = plan.candidate_moves
    assert (moves.candidate_id, moves.version) == (1, 1)
    assert [(i.from_status, i.to_status, i.actor) for i in moves.intents] == [
        (CandidateStatus.NEW, CandidateStatus.PUBLISHED, "librarian")
    ]


def test_without_a_topic_no_candidate() -> None:
    plan, (outcome,) = Memory().ingest([article()], topic=None)
    assert outcome.candidate_status is None and not plan.new_candidates


# ------------------------------------------------------------------------ stored keys


def test_keys_missing_are_rebuilt_from_the_sightings() -> None:
    store = Memory()
    store.ingest([article()])
    kept = store.keys[1]
    store.keys[1] = None
    plan, (outcome,) = store.ingest([record()])
    assert outcome.work_id == 1
    rebuilt = KeysDoc.from_document(plan.work_changes[0].values["dedupe_keys"])
    assert rebuilt is not None and kept is not None
    assert rebuilt.seen[0] == kept.keys.titles[0]


def test_keys_to_rebuild_without_the_sightings_are_a_loader_fault() -> None:
    store = Memory()
    store.ingest([article()])
    store.keys[1] = None
    snapshot = store.snapshot([record()])
    works = {1: replace(snapshot.works[1], titles=None, urls=None)}
    with pytest.raises(PlanError):
        plan_batch(replace(snapshot, works=works), [record()], topic=None, run_id=None, now=NOW)


def test_a_work_outside_the_snapshot_is_a_loader_fault() -> None:
    store = Memory()
    store.ingest([article()])
    snapshot = replace(store.snapshot([record()]), works={})
    with pytest.raises(PlanError):
        plan_batch(snapshot, [record()], topic=None, run_id=None, now=NOW)


# ------------------------------------------------------------------------ feed entries


def test_entries_sharing_a_section_link_stay_apart() -> None:
    """Three entries of one feed with their own guid, headline and date, all linked to the same
    section page: three stories."""
    section = "https://news.example.org/health/"
    hits = [
        entry("g1", "Council opens two new GP surgeries in the north", section, 24),
        entry("g2", "Link workers to join every primary care network", section, 25),
        entry("g3", "Walking groups cut loneliness, survey finds", section, 26),
    ]
    _, outcomes = Memory().ingest(hits)
    assert [o.created for o in outcomes] == [True, True, True]


def test_a_reused_guid_for_another_story_keeps_both() -> None:
    store = Memory()
    first = entry("same", "Council opens two new GP surgeries", "https://n.example.org/a", 24)
    second = entry("same", "Walking groups cut loneliness", "https://n.example.org/b", 26)
    plan, outcomes = store.ingest([first, second])
    assert [o.created for o in outcomes] == [True, True]
    ids = [s.row["source_id"] for s in plan.new_sightings]
    assert ids[0] == "same" and ids[1] == feeds.reused_guid_id(second)
    # fetched again: both seen before, nothing new
    plan, outcomes = store.ingest([first, second], now=LATER)
    assert [o.reason for o in outcomes] == ["seen before", "seen before"]
    assert not plan.new_sightings


def test_a_republished_entry_takes_its_new_guid() -> None:
    store = Memory()
    link = "https://n.example.org/2025/02/link-workers"
    store.ingest([entry("g1", "Link workers help GPs", link)])
    plan, (outcome,) = store.ingest([entry("g2", "Link workers help GPs", link)], now=LATER)
    assert (outcome.work_id, outcome.reason) == (1, "seen before (new id)")
    assert plan.sighting_changes[0].values == {"last_seen_at": LATER, "source_id": "g2"}


def test_an_edited_headline_under_the_same_guid_is_an_update() -> None:
    store = Memory()
    link = "https://n.example.org/2025/02/plan"
    store.ingest([entry("g1", "Council approves plan", link, 24)])
    edited = entry("g1", "Council approves new housing plan", link + "?v=2", 25)
    plan, (outcome,) = store.ingest([edited])
    assert outcome.reason == "seen before" and not plan.new_works


def test_a_new_guid_with_a_shared_link_and_another_headline_is_another_story() -> None:
    store = Memory()
    link = "https://n.example.org/health"
    store.ingest([entry("g1", "Council opens two new GP surgeries", link)])
    _, (outcome,) = store.ingest([entry("g2", "Walking groups cut loneliness", link)])
    assert outcome.created


def test_a_new_guid_with_a_shared_link_and_the_same_headline_in_another_feed_merges() -> None:
    store = Memory()
    link = "https://n.example.org/2025/02/link-workers"
    store.ingest([entry("g1", "Link workers help GPs", link)])
    _, (outcome,) = store.ingest(
        [entry("x1", "Link workers help GPs - Example News", link, origin="https://b.org/feed")]
    )
    assert (outcome.work_id, outcome.reason) == (1, "url")


def test_headline_agreement() -> None:
    assert feeds.headlines_agree("Council approves plan", "Council approves new housing plan")
    assert feeds.headlines_agree("Goverment backs link workers", "Government backs link workers")
    assert not feeds.headlines_agree("NHS news: flu cases rise", "NHS news: covid jabs open")
    assert feeds.headlines_agree(None, "Anything")


# ------------------------------------------------------------------------ bridging


def _split_pair(store: Memory) -> None:
    """Two works of one article kept apart: one lacks the authors, the other the volume."""
    store.ingest(
        [
            record(source_id="a", authors=[], volume="12", pages="101-109"),
            record(source_id="b", volume=None, pages=None, journal="J Test Rec"),
        ]
    )


def test_a_record_matching_two_works_equally_bridges_them() -> None:
    store = Memory()
    _split_pair(store)
    assert len(store.works) == 2
    full = record(source_id="c", origin="b.ris", pmid=None)
    plan, (outcome,) = store.ingest([full, record(source_id="d", origin="b.ris")])
    assert outcome.work_id == 1
    assert [(m.into, m.merged) for m in plan.work_merges] == [(1, 2)]
    assert len(plan.outcomes) == 1  # the plan ends at the bridge; the rest is planned afresh


def test_works_something_keeps_apart_are_not_bridged() -> None:
    store = Memory()
    store.ingest(
        [
            record(source_id="a", authors=[], volume="12", pages="101-109"),
            record(source_id="b", volume="13", pages=None, journal="J Test Rec"),
        ]
    )
    plan, _ = store.ingest([record(source_id="c", volume=None, pages=None)])
    assert not plan.work_merges


def test_the_candidate_of_merged_works_keeps_what_reviewers_did() -> None:
    s = CandidateStatus
    assert bridge.merged_status(s.NEW, s.REJECTED) is s.REJECTED
    assert bridge.merged_status(s.REJECTED, s.ACCEPTED) is s.ACCEPTED
    assert bridge.merged_status(s.PUBLISHED, s.ACCEPTED) is s.PUBLISHED
    assert bridge.merged_status(s.DEFERRED, s.NEW) is s.DEFERRED


def test_a_hit_joining_a_work_whose_fields_were_not_read_ends_the_plan_before_it() -> None:
    """The store reads the fields of the works hits are likely to join; a hit that joins
    another (found through a block) ends the plan, and the rest is planned with all fields."""
    store = Memory()
    store.ingest([article()])
    hits = [article(source_id="9", pmid="39", doi=None, title="Another study"), record()]
    snapshot = store.snapshot(hits)
    light = {1: replace(snapshot.works[1], fields=None)}
    plan, done = plan_batch(replace(snapshot, works=light), hits, topic="sp", run_id=None, now=NOW)
    assert (done, plan.fields_wanted) == (1, True)
    assert [o.created for o in plan.outcomes] == [True]
    plan, done = plan_batch(snapshot, hits[1:], topic="sp", run_id=None, now=NOW)
    assert (done, plan.fields_wanted, plan.outcomes[0].work_id) == (1, False, 1)


def test_the_works_hits_are_likely_to_join_are_judged_by_their_stored_keys() -> None:
    store = Memory()
    other = article(source_id="2", pmid="2", doi=None, title="Another study", pages="5-9")
    store.ingest([article(), other])
    snapshot = store.snapshot([record()])
    light = replace(snapshot, works={i: replace(w, fields=None) for i, w in snapshot.works.items()})
    assert likely_targets(light, batch_facts([record()])) == {1}
    assert likely_targets(snapshot, batch_facts([record()])) == set()  # read already


def test_the_planner_reuses_the_verdicts_the_loader_judged_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Choosing the works whose fields to read compares the hit with every work of its blocks;
    deciding compares it with the same works, whose keys are the same objects: each pair is
    compared once."""
    store = Memory()
    other = article(source_id="2", pmid="2", doi=None, title="Another study", pages="5-9")
    # the same title's start: in the hit's block, and another article
    rival = article(
        source_id="3", pmid="3", doi=None, title="Social prescribing in dementia care", pages="5-9"
    )
    store.ingest([article(), other, rival])
    hits = [record()]
    facts = batch_facts(hits)
    full = store.snapshot(hits)
    light = replace(full, works={i: replace(w, fields=None) for i, w in full.works.items()})
    made: list[int] = []

    def counted(a: Keys, b: Keys) -> Verdict | None:
        made.append(1)
        return compare(a, b)

    monkeypatch.setattr(match, "compare", counted)
    assert likely_targets(light, facts) == {1}
    judged = len(made)
    assert judged >= 2  # the work joined and one only compared
    # the loader then reads the fields of the work the hit is likely to join
    works = {**light.works, 1: full.works[1]}
    plan, done = plan_batch(
        replace(light, works=works), hits, facts=facts, topic="sp", run_id=None, now=NOW
    )
    assert (done, plan.outcomes[0].work_id, plan.outcomes[0].created) == (1, 1, False)
    assert len(made) == judged


@pytest.mark.parametrize("volume", [None, "59"])
def test_a_translated_title_is_found_by_author_year_and_page(volume: str | None) -> None:
    """The original-language record and the English one share no title word: the first
    author's year at one first page puts them in one block, with a volume or without one. No
    key of the author's whole year in the volume is filed (such a block grows with the store),
    and a record of the author's year at another page is another article."""
    store = Memory()
    original = record(
        title="Divertikul lukovitsy dvenadtsatiperstnoi kishki.",
        volume=volume,
        pages="87-88",
        pub_date=PubDate(1978),
        authors=[Author(family="Lazarchuk", initials="PI")],
        journal="Vestnik rentgenologii i radiologii",
        source_id="r1",
    )
    (facts,) = batch_facts([original])
    assert not [key for key in (*facts.blocks, *facts.lookups) if key.startswith("v:")]
    store.ingest([original])
    english = replace(
        original,
        title="[Diverticulum of the duodenal bulb].",
        pages="87-8",
        journal="Vestn Rentgenol Radiol",
        source_id="r2",
        origin="b.ris",
    )
    _, (outcome,) = store.ingest([english])
    assert not outcome.created and outcome.work_id == 1
    _, (apart,) = store.ingest([replace(english, pages="91-3", source_id="r3")])
    assert apart.created


# ------------------------------------------------------------------------- blocking


def _looked_at(store: Memory, hit: Hit) -> set[int]:
    (facts,) = batch_facts([hit])
    return {ref for refs in store.found(facts.lookups).values() for ref in refs}


def test_a_common_title_end_in_another_volume_is_not_looked_at() -> None:
    """Many works end "... a systematic review": a record looks only in its volume's block of
    that end (and among the works without a volume), as two volumes are never one article."""
    store = Memory()
    store.ingest([record(title="Link workers in general practice: a systematic review.")])
    other = record(
        title="Green space and wellbeing: a systematic review.", source_id="r2", volume="13"
    )
    assert 1 not in _looked_at(store, replace(other, authors=[]))
    assert 1 in _looked_at(store, replace(other, authors=[], volume="12"))
    # a record without a volume may be the article of any volume: it looks at every one
    assert 1 in _looked_at(store, replace(other, authors=[], volume=None))


def test_a_record_without_a_volume_finds_its_article_by_the_title_alone() -> None:
    store = Memory()
    store.ingest([record(authors=[])])
    _, (outcome,) = store.ingest(
        [record(authors=[], volume=None, title=TITLE.upper(), source_id="r2", origin="b.ris")]
    )
    assert not outcome.created and outcome.work_id == 1


def test_a_stored_work_without_a_volume_is_found_from_a_volume() -> None:
    store = Memory()
    store.ingest([record(authors=[], volume=None)])
    _, (outcome,) = store.ingest([record(authors=[], source_id="r2", origin="b.ris")])
    assert not outcome.created and outcome.work_id == 1


def test_a_title_mistyped_at_its_start_is_found_in_its_volume() -> None:
    store = Memory()
    store.ingest([record(authors=[])])
    typo = "X" + TITLE[1:]
    _, (outcome,) = store.ingest([record(authors=[], title=typo, source_id="r2", origin="b.ris")])
    assert not outcome.created and outcome.work_id == 1


@pytest.mark.parametrize("volume", ["12", None])
def test_a_title_is_looked_for_in_the_years_around_its_own(volume: str | None) -> None:
    """A record's title blocks find the works of its title a year apart and not two: no rule
    matches two records by their titles further apart (the matcher says so below), so the
    blocks lose nothing by passing them over. A record without a year looks at every year."""
    from harvester.core.dedupe.keys import hit_keys
    from harvester.core.dedupe.match import compare

    store = Memory()
    stored = record(authors=[], pages=None)
    store.ingest([stored])
    near = record(authors=[], pages=None, volume=volume, pub_date=PubDate(2025), source_id="r2")
    far = replace(near, pub_date=PubDate(2026), source_id="r3")
    assert 1 in _looked_at(store, near)
    assert 1 not in _looked_at(store, far)
    assert 1 in _looked_at(store, replace(far, pub_date=None))
    verdict = compare(hit_keys(far), hit_keys(stored))
    assert verdict is None or not verdict.same


def test_a_notice_is_found_from_its_article_whatever_the_year() -> None:
    """An erratum is filed under its article's title without a volume or a year: the article,
    stored later and years apart, still finds it and is linked to it."""
    store = Memory()
    notice = record(title=f"Erratum: {TITLE}", source_id="e1", pages="300", pub_date=PubDate(2030))
    store.ingest([notice])
    assert 1 in _looked_at(store, record(authors=[], pages=None))
    plan, _ = store.ingest([record(source_id="r2")])
    assert [(a, b, rel) for a, b, rel, _ in plan.links] == [(NEW_BASE, 1, "erratum-in")]
