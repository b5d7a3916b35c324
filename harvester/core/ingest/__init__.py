"""Ingest as plan-then-apply: the rules that turn hits into works, sightings and candidates.

Pure. The store reads what a batch can touch (:mod:`.snapshot`), :func:`.planner.plan_batch`
decides everything (:mod:`.plan`), the store writes the plan in one transaction. The rules:
:mod:`.planner` (the order of things, dedupe and merge), :mod:`.feeds` (guids and links of feed
entries), :mod:`.bridge` (a record that joins two works), :mod:`.workkeys` (stored keys, stated
relations, identical records).
"""
