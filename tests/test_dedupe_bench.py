"""benchmarks/dedupe_bench.py goes on past a record the import keeps nothing of."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "dedupe_bench.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dedupe_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["dedupe_bench"] = module
    spec.loader.exec_module(module)
    return module


def test_a_record_without_title_or_id_counts_as_a_work_of_its_own() -> None:
    bench = load_bench()
    title = "Effects of early mobilisation on functional recovery after acute ischaemic stroke"
    rows = [
        {"ID": "r1", "title": title, "year": "2019", "author": "Okafor, N", "journal": "Stroke"},
        {
            "ID": "r2",
            "title": title.upper(),
            "year": "2019",
            "author": "Okafor, N.",
            "journal": "Stroke",
        },
        {"ID": "r3", "title": "", "year": "", "author": "", "journal": ""},  # nothing to keep
        {"ID": "r4", "title": "", "year": "", "author": "", "journal": ""},
    ]
    work_of, _, _, missing = bench.run_cli(rows, "tiny")
    assert missing == 2
    assert work_of["r1"] == work_of["r2"]
    assert len({work_of["r1"], work_of["r3"], work_of["r4"]}) == 3
    counts = bench.pairwise(rows, work_of, [["r1", "r2"]])
    assert (counts.tp, counts.fp, counts.fn) == (1, 0, 0)
