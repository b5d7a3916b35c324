"""Two harvests started one right after the other in two processes of one installation share
NCBI's budget of 3 requests a second: a server counting requests in any sliding second (the
strict mode of the local E-utilities server) refuses none of them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from eutils_server import TOPIC_SUBSET, Corpus, serve

from harvester.config.scaffold import example_topic
from harvester.config.settings import Settings
from harvester.sources.ratelimit import NCBI_RATE_ANONYMOUS

TOPIC = "social-prescribing"
#: Two topics (one harvest of a topic runs at a time), each harvested for its own window.
RUNS = ((TOPIC, "2020-12-01", "2021-03-15"), ("second-topic", "2021-03-16", "2021-06-30"))


def test_two_processes_draw_no_429_from_a_strict_server(settings: Settings) -> None:
    corpus = Corpus.from_files(TOPIC_SUBSET)
    assert settings.config_file is not None
    folder = settings.config_file.parent
    (folder / "queries" / f"{TOPIC}.toml").write_text(example_topic(), encoding="utf-8")
    (folder / "queries" / "second-topic.toml").write_text(
        example_topic().replace(f'slug = "{TOPIC}"', 'slug = "second-topic"'), encoding="utf-8"
    )
    with serve(corpus, max_per_second=NCBI_RATE_ANONYMOUS) as strict:
        text = settings.config_file.read_text(encoding="utf-8")
        text += (
            f'\n[pubmed]\nbase_url = "{strict.base_url}"\nemail = "library@example.org"\n'
            "batch_size = 5\nmax_retries = 0\nread_timeout = 10\n"
        )
        settings.config_file.write_text(text, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
        harvester = [sys.executable, "-m", "harvester", "--config", str(settings.config_file)]
        subprocess.run([*harvester, "topic", "apply", "queries"], cwd=folder, env=env, check=True)
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "harvester",
                    "--config",
                    str(settings.config_file),
                    "harvest",
                    "--topic",
                    topic,
                    "--source",
                    "pubmed",
                    "--since",
                    since,
                    "--until",
                    until,
                ],
                cwd=folder,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for topic, since, until in RUNS
        ]
        outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        assert len(strict.requests) >= 14, len(strict.requests)
        assert strict.state.rate_limited == 0, outputs
    assert any(Path(folder).glob(".pubmed-anonymous.requests")) or any(
        Path(settings.data_dir).glob(".pubmed-anonymous.requests")
    )
