"""``harvester topic check``: a past bulletin's items checked against the example topic's PubMed
query (the local E-utilities server, which answers the query for the records whose title says
"loneliness"), its Europe PMC query (the local Europe PMC server) and its news phrases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from europepmc_server import WRITTEN, EuropePMCServer, load_records
from europepmc_server import serve as serve_europepmc
from eutils_server import TOPIC_SUBSET, Corpus, EutilsServer, Record
from eutils_server import serve as serve_eutils

from harvester.cli.main import cli
from harvester.config.scaffold import example_topic
from harvester.config.settings import Settings

BULLETIN = Path(__file__).parent / "fixtures" / "import" / "handwritten_past_bulletin.ris"
TOPIC = "social-prescribing"


def pubmed_query(term: str, record: Record) -> bool:
    """The query matches records about loneliness; ``<pmid>[pmid]`` narrows to one record."""
    wanted = f"{record.pmid}[pmid]" in term if "[pmid]" in term else True
    return wanted and b"oneliness" in record.xml()


def europepmc_query(query: str, record: dict[str, object]) -> bool:
    return f"EXT_ID:{record.get('pmid')} " in query or f'DOI:"{record.get("doi")}"' in query


@pytest.fixture
def servers() -> Iterator[tuple[EutilsServer, EuropePMCServer]]:
    with (
        serve_eutils(Corpus.from_files(TOPIC_SUBSET), term_filter=pubmed_query) as eutils,
        serve_europepmc(load_records(WRITTEN), match=europepmc_query) as europepmc,
    ):
        yield eutils, europepmc


@pytest.fixture
def project(settings: Settings, servers: tuple[EutilsServer, EuropePMCServer]) -> Path:
    eutils, europepmc = servers
    assert settings.config_file is not None
    text = settings.config_file.read_text(encoding="utf-8")
    text += (
        f'\n[pubmed]\nbase_url = "{eutils.base_url}"\n'
        f'[europepmc]\nbase_url = "{europepmc.base_url}"\n'
    )
    settings.config_file.write_text(text, encoding="utf-8")
    (settings.config_file.parent / "queries" / f"{TOPIC}.toml").write_text(
        example_topic(), encoding="utf-8"
    )
    return settings.config_file.parent


def test_each_item_is_caught_or_missed_with_the_reason(
    project: Path, servers: tuple[EutilsServer, EuropePMCServer]
) -> None:
    eutils, europepmc = servers
    result = CliRunner().invoke(
        cli, ["topic", "check", "--topic", TOPIC, "--against", str(BULLETIN)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1. caught: Loneliness and depression in patients with cancer")
    assert "   PubMed: yes, found by the query on its entrez date 2020-12-04" in lines
    assert "   Europe PMC: yes, found by the query" in lines
    assert lines[4].startswith("2. MISSED: COVID-19 and Tinnitus (PMID 33275033")
    assert (
        "   PubMed: no, not among the query's results for its entrez date 2020-12-04: "
        "the query does not match it"
    ) in lines
    assert "   Europe PMC: no, the query does not find it in Europe PMC" in lines
    assert lines[8] == "3. caught: Social prescribing referrals triple in three years"
    assert "   PubMed: ?, no PMID, so not checked against PubMed" in lines
    assert "   news phrases: yes, the topic's phrases: 'social prescri*' matches" in lines
    assert lines[12].startswith("4. caught: Link workers in rural general practice")
    assert lines[-1] == (
        "3 of 4 items would have been caught (PubMed 1, Europe PMC 2, news phrases 2)"
    )
    # PubMed: one efetch for the PMIDs, one esearch per item with a PMID, on its entrez day
    searches = [r for r in eutils.requests if r.endpoint == "esearch"]
    assert len(searches) == 2
    assert searches[0].params["mindate"] == searches[0].params["maxdate"] == "2020/12/04"
    assert searches[0].params["term"].endswith("AND 33274697[pmid]")
    assert any('DOI:"10.9999/hw.2021.001"' in r.params["query"] for r in europepmc.requests)


def test_an_unknown_topic_and_an_unreadable_file(project: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(cli, ["topic", "check", "--topic", "nope", "--against", str(BULLETIN)])
    assert unknown.exit_code == 1 and "unknown topic 'nope'" in unknown.output
    empty = tmp_path / "empty.ris"
    empty.write_text("nothing here\n", encoding="utf-8")
    bad = runner.invoke(cli, ["topic", "check", "--topic", TOPIC, "--against", str(empty)])
    assert bad.exit_code == 1 and "empty.ris" in bad.output
