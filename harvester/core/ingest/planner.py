"""The ingest planner: what a batch of hits does to the store, decided without the store.

:func:`plan_batch` reads a :class:`~harvester.core.ingest.snapshot.Snapshot` (what the batch can
touch, read by the store beforehand) and returns a :class:`~harvester.core.ingest.plan.Plan`
(what to write). Hits are decided in order, each seeing what the earlier ones decided, so a
batch decides exactly what its hits decide one by one. For each hit:

1. A hit whose sighting (source, source id, origin) is stored is the same record seen again:
   only ``last_seen_at`` changes, and the work's fields when the source revised them. A feed
   entry is looked up by its guid with the feed rules of :mod:`harvester.core.ingest.feeds`
   (a guid a feed reuses for another story leaves another sighting).
2. A deletion notice (PubMed's DeleteCitation) leaves a sighting with reason ``deleted`` on the
   work it names, if any: nothing a user decided on is removed.
3. Otherwise the hit is compared (:func:`harvester.core.dedupe.match.compare`) with every work
   that owns one of its identities or shares a blocking key; the strongest "same" verdict wins
   (exact ids before titles, then the closer title, then the older work) and links are made to
   notices and preprints. A link that identifies nothing (a feed's section page shared by
   several stories) does not merge (:func:`harvester.core.ingest.feeds.url_vetoed`); a record
   identical field for field to a stored one joins its work. No match: a new work.
4. The work takes the hit's fields by source rank (:func:`harvester.core.merge.merge_fields`)
   and its keys are brought up to date (:mod:`harvester.core.ingest.workkeys`); the hit leaves
   a sighting, its identities not owned yet, its blocking keys and the links its source states.
   A feed entry re-issued under a new guid with the same link and title renames its sighting
   instead.
5. With a topic, the work gets a candidate (:func:`harvester.core.queue_rules.admit`) or an
   import moves the existing one forward (:func:`harvester.core.queue_rules.import_move`).
6. A hit that matches two works equally, when nothing in the two works keeps them apart,
   bridges them: the plan ends after that hit with a :class:`~harvester.core.ingest.plan.WorkMerge`
   (:mod:`harvester.core.ingest.bridge`), and the store plans the rest of the batch afresh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from harvester.core import queue_rules
from harvester.core.dedupe.keys import Keys, hit_keys
from harvester.core.ingest import bridge, feeds
from harvester.core.ingest.blocks import BlockIndex
from harvester.core.ingest.plan import (
    NEW_BASE,
    HitOutcome,
    Plan,
    WorkMerge,
)
from harvester.core.ingest.snapshot import (
    Identity,
    KeysDoc,
    SightingKey,
    Snapshot,
    StoredSighting,
    identity_value,
)
from harvester.core.ingest.state import (
    CandidateDraft,
    SightingState,
    WorkState,
    assemble,
    blank_fields,
)
from harvester.core.ingest.workkeys import (
    RECORD_IDENTITY,
    record_fingerprint,
    relation_ids,
    relation_name,
    work_keys,
)
from harvester.core.merge import MERGED_FIELDS, merge_fields
from harvester.core.models import CandidateStatus, Hit, WorkKind
from harvester.core.normalise import title_key
from harvester.core.queue_rules import CandidateState

__all__ = ["HitFacts", "PlanError", "batch_facts", "likely_targets", "plan_batch"]


class PlanError(RuntimeError):
    """The snapshot lacks something the planner needs (a fault of the loader, not of a hit)."""


class _FieldsNotRead(Exception):
    """A hit joins a stored work whose fields the snapshot did not read."""


@dataclass(frozen=True, slots=True)
class HitFacts:
    """What the loader reads by and the planner decides with, worked out once per hit: its
    dedupe keys, the blocking keys it is filed under and those it looks in
    (:meth:`~harvester.core.dedupe.keys.Keys.filing`), and its fingerprint
    (:func:`~harvester.core.ingest.workkeys.record_fingerprint`)."""

    keys: Keys
    blocks: tuple[str, ...]
    lookups: tuple[str, ...]
    fingerprint: str | None


def batch_facts(hits: Sequence[Hit]) -> list[HitFacts]:
    facts = []
    for hit in hits:
        keys = hit_keys(hit)
        blocks, lookups = keys.filing()
        facts.append(HitFacts(keys, tuple(blocks), tuple(lookups), record_fingerprint(hit, keys)))
    return facts


def likely_targets(snapshot: Snapshot, facts: Sequence[HitFacts]) -> set[int]:
    """The stored works the hits are likely to join, judged by the works' stored keys: the
    owners of their identities and sightings' works aside (the loader reads those anyway),
    the works of their blocks that dedupe calls the same. The loader reads these works'
    fields; one that a hit joins after all (its keys changed earlier in the batch) ends the
    plan early (``fields_wanted``)."""
    found: set[int] = set()
    for fact in facts:
        members: set[int] = set()
        for key in fact.lookups:
            members.update(snapshot.blocks.get(key, ()))
        for ref in members:
            stored = snapshot.works.get(ref)
            if stored is None or stored.fields is not None or ref in found:
                continue
            if stored.keys is None:
                found.add(ref)
                continue
            verdict = snapshot.comparisons.compare(fact.keys, stored.keys.keys)
            if verdict is not None and verdict.same:
                found.add(ref)
    return found


def plan_batch(
    snapshot: Snapshot,
    hits: Sequence[Hit],
    *,
    facts: Sequence[HitFacts] | None = None,
    topic: str | None,
    run_id: int | None,
    now: dt.datetime,
    status: CandidateStatus = CandidateStatus.NEW,
    actor: str = "harvester",
) -> tuple[Plan, int]:
    """The plan for ``hits`` (with their ``facts``, :func:`batch_facts` by default) and how many of
    them it covers: all of them, unless a hit bridged two works (the plan ends after it: the
    store applies the plan and plans the rest against the store as it is then), or a hit joins
    a work whose fields the snapshot left out (the plan ends before it, ``fields_wanted``: the
    store plans the rest with every work's fields)."""
    planner = _Planner(snapshot, topic=topic, run_id=run_id, now=now, status=status, actor=actor)
    facts = list(facts) if facts is not None else batch_facts(hits)
    done = 0
    wanted = False
    for hit, fact in zip(hits, facts, strict=True):
        try:
            bridged = planner.hit(hit, fact)
        except _FieldsNotRead:
            wanted = True
            break
        done += 1
        if bridged:
            break
    plan = planner.plan()
    plan.fields_wanted = wanted
    return plan, done


# ------------------------------------------------------------------------ the working state


class _Planner:
    def __init__(
        self,
        snapshot: Snapshot,
        *,
        topic: str | None,
        run_id: int | None,
        now: dt.datetime,
        status: CandidateStatus,
        actor: str,
    ) -> None:
        self.snapshot = snapshot
        self.topic, self.run_id, self.now = topic, run_id, now
        self.status, self.actor = status, actor
        self.works: dict[int, WorkState] = {}
        self.new_works: list[WorkState] = []
        self.owners: dict[Identity, int] = dict(snapshot.owners)
        self.index = BlockIndex(snapshot.blocks)
        self.sightings: dict[SightingKey, SightingState | None] = {}
        self.by_id: dict[int, SightingState] = {}
        self.new_sightings: list[SightingState] = []
        self.sightings_of: dict[int, list[SightingState]] = {}
        self.identities: list[tuple[int, str, str]] = []
        self.links: set[tuple[int, int, str]] = set()
        self.new_links: list[tuple[int, int, str, dt.datetime]] = []
        self.candidates: dict[int, CandidateDraft | None] = {}
        self.new_candidates: list[CandidateDraft] = []
        self.merges: list[WorkMerge] = []
        self.outcomes: list[HitOutcome] = []

    # ----------------------------------------------------------------------- reading

    def work(self, ref: int) -> WorkState:
        work = self.works.get(ref)
        if work is None:
            stored = self.snapshot.works.get(ref)
            if stored is None:
                raise PlanError(f"work {ref} is not in the snapshot")
            if stored.fields is None:
                raise _FieldsNotRead(ref)
            work = WorkState(
                ref=ref,
                fields=dict(stored.fields),
                doc=stored.keys,
                stored_doc=stored.keys,
                titles=None if stored.titles is None else list(stored.titles),
                urls=None if stored.urls is None else list(stored.urls),
                new=False,
            )
            self.works[ref] = work
        return work

    def owners_of(self, identities: Iterable[Identity]) -> dict[Identity, int]:
        """The works owning any of ``identities`` (as dedupe gives them), by identity."""
        found = {}
        for kind, value in identities:
            owner = self.owners.get((kind, identity_value(value)))
            if owner is not None:
                found[(kind, value)] = owner
        return found

    def sighting(self, key: SightingKey) -> SightingState | None:
        if key in self.sightings:
            return self.sightings[key]
        stored = self.snapshot.sightings.get(key)
        found = None if stored is None else self._wrap(stored)
        self.sightings[key] = found
        return found

    def _wrap(self, stored: StoredSighting) -> SightingState:
        known = self.by_id.get(stored.id)
        if known is None:
            known = SightingState(
                ref=stored.work_id,
                id=stored.id,
                source=stored.source,
                source_id=stored.source_id,
                origin=stored.origin,
                title=stored.title,
                url=stored.url,
                match_reason=stored.match_reason,
            )
            self.by_id[stored.id] = known
            self.sightings.setdefault(known.key, known)
        return known

    def entries(self, ref: int, source: str, origin: str) -> list[SightingState]:
        """The work's sightings by ``source`` and ``origin``, stored ones first, in order."""
        found = []
        if ref < NEW_BASE:
            self._read_in_full(ref)
            found = [
                self._wrap(s)
                for s in self.snapshot.entries.get(ref, ())
                if s.source == source and s.origin == origin
            ]
        found += [
            s for s in self.sightings_of.get(ref, ()) if s.source == source and s.origin == origin
        ]
        return found

    def keys_of(self, ref: int) -> Keys:
        stored = self.snapshot.works.get(ref)
        if ref not in self.works and stored is not None and stored.keys is not None:
            return stored.keys.keys  # compared only: its fields are not needed
        work = self.work(ref)
        if work.doc is None:
            self.refresh(work)
        assert work.doc is not None
        return work.doc.keys

    def _read_in_full(self, ref: int) -> None:
        """The work's fields, candidate, feed entries and links were read (else the plan ends)."""
        self.work(ref)  # a work only compared has its keys alone: it raises _FieldsNotRead

    def candidate(self, ref: int) -> CandidateDraft | None:
        if ref not in self.candidates:
            self._read_in_full(ref)
            stored = self.snapshot.candidates.get(ref)
            self.candidates[ref] = (
                None
                if stored is None
                else CandidateDraft(
                    ref=ref,
                    id=stored.id,
                    status=stored.status,
                    version=stored.version,
                    decided_by=stored.decided_by,
                )
            )
        return self.candidates[ref]

    # ---------------------------------------------------------------------- one hit

    def hit(self, hit: Hit, facts: HitFacts) -> bool:
        """Decide ``hit``; whether it bridged two works (the plan ends there)."""
        outcome = self._decide(hit, facts)
        if self.topic is not None and outcome.work_id is not None and outcome.reason != "deleted":
            outcome.candidate_status = self._ensure_candidate(outcome.work_id, outcome.created)
        self.outcomes.append(outcome)
        return bool(self.merges)

    def _decide(self, hit: Hit, facts: HitFacts) -> HitOutcome:
        keys = facts.keys
        key = (hit.source, hit.source_id, hit.origin or "")
        sighting = self.sighting(key)
        if hit.deleted:
            return self._deletion(hit, keys, sighting)
        if (
            hit.source == feeds.FEED_SOURCE
            and sighting is not None
            and not feeds.same_guid_story(hit, sighting.title, sighting.url)
        ):
            # The feed reused the guid for another story: stored under an id of its own.
            hit = replace(hit, source_id=feeds.reused_guid_id(hit))
            sighting = self.sighting((hit.source, hit.source_id, hit.origin or ""))
        if sighting is not None:
            sighting.last_seen_at = self.now
            sighting.changed.add("last_seen_at")
            work = self.work(sighting.ref)
            if self.merge(work, hit, keys):
                self.refresh(work)
            return HitOutcome(sighting.ref, False, "seen before")
        fingerprint = facts.fingerprint
        identities = keys.identities()
        if fingerprint is not None:
            identities.append((RECORD_IDENTITY, fingerprint))
        owners = self.owners_of(identities)
        candidates = sorted(set(owners.values()) | self.index.works(facts.lookups))
        target, reason, links, equals = self._match(hit, keys, candidates)
        if target is None and fingerprint is not None:
            twin = owners.get((RECORD_IDENTITY, fingerprint))
            if twin is not None:
                target, reason = twin, "identical record"
        created = target is None
        work = self._new_work(hit) if target is None else self.work(target)
        changed = self.merge(work, hit, keys)
        renamed = None if created else self._re_issued(work.ref, hit)
        if renamed is not None:
            # A feed re-issued an entry under a new guid, same link and title: the same entry.
            self.sightings[renamed.key] = None
            renamed.source_id = hit.source_id
            renamed.last_seen_at = self.now
            renamed.changed.update(("source_id", "last_seen_at"))
            self.sightings[renamed.key] = renamed
            if changed:
                self.refresh(work)
            return HitOutcome(work.ref, False, "seen before (new id)")
        self._add_sighting(work, hit, reason, topic=self.topic)
        new_ids = [pair for pair in identities if pair not in owners]
        urls = self._add_identities(work, new_ids)
        self.index.file(work.ref, facts.blocks)
        self.refresh(work, title=hit.title, urls=urls, new_work=created)
        if changed and not created and work.doc is not None:
            # filed under what it now says (its year or volume may have changed) too
            self.index.file(work.ref, work.doc.keys.blocks())
        for other, name in links:
            self._add_link(work.ref, other, name)
        for relation in hit.relations:
            for other in sorted(set(self.owners_of(relation_ids(relation)).values())):
                self._add_link(work.ref, other, relation_name(relation.type))
        for other in equals:
            self.merges.append(WorkMerge(into=work.ref, merged=other, reason=f"bridge: {reason}"))
        return HitOutcome(work.ref, created, reason, new_sighting=True)

    def _match(
        self, hit: Hit, keys: Keys, candidates: list[int]
    ) -> tuple[int | None, str, list[tuple[int, str]], list[int]]:
        """The work ``hit`` joins (None: a new one) and why, the links to make, and the other
        works it bridges to that one."""
        best: tuple[float, int] | None = None
        reason = "new"
        links: list[tuple[int, str]] = []
        same: list[tuple[float, int]] = []
        for ref in candidates:
            other = self.keys_of(ref)
            verdict = self.snapshot.comparisons.compare(keys, other)
            if verdict is None:
                continue
            if not verdict.same:
                assert verdict.relation is not None
                links.append((ref, verdict.relation))
                continue
            if verdict.reason == "url" and feeds.url_vetoed(hit, keys, other):
                continue
            rank = (verdict.strength, -ref)
            same.append(rank)
            if best is None or rank > best:
                best, reason = rank, verdict.reason
        if best is None:
            return None, reason, links, []
        target = -best[1]
        equals = [
            -rank[1]
            for rank in same
            if rank[0] == best[0]
            and -rank[1] != target
            and bridge.may_join(self.keys_of(target), self.keys_of(-rank[1]))
        ]
        return target, reason, links, equals[:1]

    def _re_issued(self, ref: int, hit: Hit) -> SightingState | None:
        """The work's entry of the same feed ``hit`` re-issues under a new guid, if any."""
        if hit.source != feeds.FEED_SOURCE or not hit.url:
            return None
        for entry in self.entries(ref, hit.source, hit.origin or ""):
            if feeds.re_issued(hit, entry.title, entry.url):
                return entry
        return None

    def _deletion(self, hit: Hit, keys: Keys, sighting: SightingState | None) -> HitOutcome:
        """A deletion notice: the work it names is marked (``deleted_at``, which the queue and
        exports show); nothing a person decided on is removed."""
        if sighting is not None:
            sighting.match_reason = "deleted"
            sighting.last_seen_at = self.now
            sighting.changed.update(("match_reason", "last_seen_at"))
            self._mark_deleted(self.work(sighting.ref))
            return HitOutcome(sighting.ref, False, "deleted")
        owners = self.owners_of(keys.identities())
        if not owners:
            return HitOutcome(None, False, "deleted")
        work = self.work(min(owners.values()))
        self._add_sighting(work, hit, "deleted", topic=None)
        self.refresh(work, title=hit.title)
        self._mark_deleted(work)
        return HitOutcome(work.ref, False, "deleted", new_sighting=True)

    def _mark_deleted(self, work: WorkState) -> None:
        work.fields["deleted_at"] = self.now
        work.changed.add("deleted_at")

    # ------------------------------------------------------------------- the works

    def _new_work(self, hit: Hit) -> WorkState:
        ref = NEW_BASE + len(self.new_works)
        work = WorkState(ref, blank_fields(hit), None, None, [], [], new=True)
        self.works[ref] = work
        self.new_works.append(work)
        return work

    def merge(self, work: WorkState, hit: Hit, keys: Keys) -> bool:
        """Take what :func:`merge_fields` says the hit changes; whether anything changed."""
        current = {name: work.fields[name] for name in MERGED_FIELDS}
        changes = merge_fields(current, hit, doi=keys.doi, pmid=keys.pmid, pmcid=keys.pmcid)
        work.fields.update(changes)
        if changes:
            work.changed.update(changes)
            work.changed.add("updated_at")
            work.fields["updated_at"] = self.now
        return bool(changes)

    def refresh(
        self,
        work: WorkState,
        *,
        title: str | None = None,
        urls: Iterable[str] = (),
        new_work: bool = False,
    ) -> None:
        """Bring the work's keys up to date with its fields, a new sighting's ``title`` and new
        URL identities ``urls`` (rebuilt from its sightings' titles and URL identities when
        missing, of an older version, or of another kind)."""
        kind = WorkKind(work.fields["kind"])
        seen: list[str]
        known: list[str]
        if new_work:
            seen, known = [], []
        elif work.doc is None or work.doc.kind != kind.value:
            if work.titles is None or work.urls is None:
                raise PlanError(f"work {work.ref}: keys to rebuild, but no sightings given")
            titles = [*work.titles, *work.added_titles]
            known = [*work.urls, *work.added_urls]
            seen = [k for k in dict.fromkeys(title_key(t, kind) for t in titles if t) if k]
        else:
            seen, known = list(work.doc.seen), list(work.doc.urls)
        if title:
            key = title_key(title, kind)
            if key and key not in seen:
                seen.append(key)
        known += [url for url in urls if url not in known]
        keys = work_keys(work.fields, seen, known)
        work.doc = KeysDoc(kind.value, tuple(seen), tuple(known), keys)

    def _add_sighting(self, work: WorkState, hit: Hit, reason: str, *, topic: str | None) -> None:
        sighting = SightingState(
            ref=work.ref,
            id=None,
            source=hit.source,
            source_id=hit.source_id,
            origin=hit.origin or "",
            title=hit.title,
            url=hit.url,
            match_reason=reason,
            last_seen_at=self.now,
            row={
                "run_id": self.run_id,
                "topic": topic,
                "matched_rule": hit.matched_rule,
                "raw": hit.raw,
                "first_seen_at": self.now,
            },
        )
        self.new_sightings.append(sighting)
        self.sightings_of.setdefault(work.ref, []).append(sighting)
        self.sightings[sighting.key] = sighting
        work.added_titles.append(hit.title)

    def _add_identities(self, work: WorkState, identities: list[Identity]) -> list[str]:
        urls = []
        for kind, value in identities:
            stored = identity_value(value)
            self.owners[(kind, stored)] = work.ref
            self.identities.append((work.ref, kind, stored))
            if kind == "url":
                work.added_urls.append(stored)
                urls.append(stored)
        return urls

    def _add_link(self, ref: int, other: int, relation: str) -> None:
        if ref == other or (ref, other, relation) in self.links:
            return
        self._read_in_full(ref)
        self.links.add((ref, other, relation))
        if (ref, other, relation) in self.snapshot.links:
            return
        self.new_links.append((ref, other, relation, self.now))

    # ---------------------------------------------------------------- the candidates

    def _ensure_candidate(self, ref: int, new_work: bool) -> str:
        """Give the work its candidate in the topic, or move the existing one forward; its
        status."""
        candidate = None if new_work else self.candidate(ref)
        if candidate is None:
            intent = queue_rules.admit(self.status, actor=self.actor, at=self.now)
            candidate = CandidateDraft(
                ref=ref,
                id=None,
                status=intent.to_status,
                version=0,
                decided_by=None,
                intents=[intent],
                row={"topic": self.topic, "first_run_id": self.run_id, "created_at": self.now},
            )
            self.candidates[ref] = candidate
            self.new_candidates.append(candidate)
            return candidate.status.value
        state = CandidateState(candidate.id or 0, candidate.status, candidate.version)
        move = queue_rules.import_move(state, self.status, actor=self.actor, at=self.now)
        if move is not None:
            candidate.intents.append(move)
            candidate.status = move.to_status
        return candidate.status.value

    # ------------------------------------------------------------------------ the plan

    def plan(self) -> Plan:
        return assemble(
            Plan(
                identities=self.identities,
                block_keys=self.index.filed,
                links=self.new_links,
                work_merges=self.merges,
                outcomes=self.outcomes,
            ),
            new_works=self.new_works,
            works=self.works,
            sightings=self.by_id,
            new_sightings=self.new_sightings,
            candidates=self.candidates,
            new_candidates=self.new_candidates,
            now=self.now,
        )
