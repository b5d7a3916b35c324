"""Settings and topic files: defaults, environment overrides, and one-line errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.config.settings import (
    find_line,
    load_settings,
    load_topic,
    load_topics,
    select_topics,
)
from harvester.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(workdir: Path) -> None:
    settings = load_settings()
    assert settings.database.url == f"sqlite:///{workdir / 'harvester.db'}"
    assert settings.pubmed.base_url == "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
    assert settings.pubmed.api_key is None
    assert settings.queries_dir == workdir / "queries"


def test_file_values_and_environment_overrides(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(
        workdir / "harvester.toml",
        '[pubmed]\nbatch_size = 50\nemail = "a@b.org"\n[smtp]\nport = 2525\n',
    )
    monkeypatch.setenv("HARVESTER_PUBMED__BATCH_SIZE", "25")
    monkeypatch.setenv("HARVESTER_PUBMED__API_KEY", "k3y")
    monkeypatch.setenv("HARVESTER_DATABASE__URL", "sqlite:///other.db")
    monkeypatch.setenv("HARVESTER_PUBMED__BASE_URL", "http://127.0.0.1:9/eutils")
    settings = load_settings()
    assert settings.pubmed.batch_size == 25
    assert settings.pubmed.email == "a@b.org"
    assert settings.pubmed.api_key == "k3y"
    assert settings.smtp.port == 2525
    assert settings.database.url == f"sqlite:///{workdir / 'other.db'}"
    assert settings.pubmed.base_url == "http://127.0.0.1:9/eutils/"


def test_config_file_from_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = write(workdir / "elsewhere" / "h.toml", 'queries = "topics"\n')
    monkeypatch.setenv("HARVESTER_CONFIG", str(conf))
    settings = load_settings()
    assert settings.queries_dir == conf.parent / "topics"


def test_queries_folder_from_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (workdir / "harvester.toml").write_text('queries = "topics"\n', encoding="utf-8")
    topics = workdir / "srv-topics"
    topics.mkdir()
    monkeypatch.setenv("HARVESTER_QUERIES", str(topics))
    assert load_settings().queries_dir == topics


def test_named_file_missing(workdir: Path) -> None:
    with pytest.raises(ConfigError, match="missing.toml: settings file not found"):
        load_settings(workdir / "missing.toml")


def test_bad_value_in_settings_names_file_line_and_key(workdir: Path) -> None:
    write(
        workdir / "harvester.toml",
        '[database]\nurl = "sqlite:///x.db"\n\n[pubmed]\nemail = "a@b.org"\nbatch_size = "abc"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert (
        str(info.value)
        == "harvester.toml line 6: [pubmed] batch_size must be an integer, got 'abc'"
    )


def test_toml_syntax_error_names_the_line(workdir: Path) -> None:
    write(workdir / "harvester.toml", '[pubmed]\nemail = "a@b.org"\nbatch_size = = 3\n')
    with pytest.raises(ConfigError, match=r"harvester.toml line 3: not valid TOML"):
        load_settings()


def test_unknown_key_is_refused(workdir: Path) -> None:
    write(workdir / "harvester.toml", '[smtp]\nhost = "x"\nprot = 25\n')
    with pytest.raises(
        ConfigError, match=r"harvester.toml line 3: \[smtp\] prot is not a known key"
    ):
        load_settings()


@pytest.mark.parametrize(
    ("section", "key", "env"),
    [
        ("pubmed", "api_key", "HARVESTER_PUBMED__API_KEY"),
        ("smtp", "password", "HARVESTER_SMTP__PASSWORD"),
        ("web", "secret_key", "HARVESTER_WEB__SECRET_KEY"),
    ],
)
def test_secrets_in_the_file_are_refused(workdir: Path, section: str, key: str, env: str) -> None:
    write(workdir / "harvester.toml", f'# settings\n[{section}]\n{key} = "s3cret"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "line 3" in message and env in message and "s3cret" not in message


def test_bad_environment_value_is_named(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARVESTER_SMTP__PORT", "many")
    with pytest.raises(
        ConfigError,
        match=r"environment variable HARVESTER_SMTP__PORT: \[smtp\] port must be an integer",
    ):
        load_settings()


TOPIC = """\
[topic]
name = "Social prescribing"

[pubmed]
query = '"social prescri*"[tiab]'

[match]
phrases = ["social prescri*"]

[[feeds]]
name = "One"
url = "https://example.org/one.xml"

[[feeds]]
name = "Two"
url = "ftp://example.org/two.xml"
"""


def test_example_topic_is_valid() -> None:
    topic = load_topic(REPO / "queries" / "social-prescribing.toml")
    assert topic.slug == "social-prescribing"
    assert topic.pubmed is not None
    for phrase in (
        "social prescri*",
        "link worker*",
        "community connector*",
        "arts on prescription",
        "green prescri*",
        "nature prescri*",
        "care navigator*",
    ):
        assert phrase in topic.pubmed.query
    assert topic.feeds and topic.digest.recipients


def test_topic_slug_defaults_to_file_name(tmp_path: Path) -> None:
    path = write(tmp_path / "queries" / "sp.toml", TOPIC.replace("ftp://", "https://"))
    topic = load_topic(path)
    assert topic.slug == "sp"
    assert topic.name == "Social prescribing"
    assert [f.name for f in topic.feeds] == ["One", "Two"]
    assert topic.feed_rules(topic.feeds[0]).phrases == ["social prescri*"]


def test_topic_error_in_second_feed_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "queries" / "sp.toml", TOPIC)
    with pytest.raises(ConfigError) as info:
        load_topic(path)
    assert str(info.value) == (
        f"{path} line 16: [feeds] url must be an http(s) URL, got 'ftp://example.org/two.xml'"
    )


def test_topic_type_error(tmp_path: Path) -> None:
    text = TOPIC.replace("ftp://", "https://").replace(
        "query = '\"social prescri*\"[tiab]'", "query = 'x'\nenabled = \"abc\""
    )
    path = write(tmp_path / "queries" / "sp.toml", text)
    with pytest.raises(ConfigError) as info:
        load_topic(path)
    assert str(info.value) == f"{path} line 6: [pubmed] enabled must be true or false, got 'abc'"


def test_topic_missing_required_key_points_at_its_table(tmp_path: Path) -> None:
    path = write(
        tmp_path / "queries" / "sp.toml", "[topic]\nname = 'x'\n\n[pubmed]\nenabled = true\n"
    )
    with pytest.raises(ConfigError, match=r"sp.toml line 4: \[pubmed\] query must be a value"):
        load_topic(path)


def test_bad_cron_expression(tmp_path: Path) -> None:
    path = write(tmp_path / "q" / "t.toml", '[schedule]\nharvest = "every day"\n')
    with pytest.raises(
        ConfigError,
        match=r"t.toml line 2: \[schedule\] harvest must be a schedule such as 'every weekday at "
        r"06:00'.* \(no time of day: add one, as in 'every day at 06:00'\), got 'every day'",
    ):
        load_topic(path)


def test_feed_without_any_rule_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "q" / "t.toml", '[[feeds]]\nname = "x"\nurl = "https://e.org/f"\n')
    with pytest.raises(ConfigError, match="would keep nothing"):
        load_topic(path)


def test_load_topics_sorted_unique_and_selectable(tmp_path: Path) -> None:
    write(tmp_path / "q" / "b.toml", "[pubmed]\nquery = 'b'\n")
    write(tmp_path / "q" / "a.toml", "[pubmed]\nquery = 'a'\n")
    topics = load_topics(tmp_path / "q")
    assert [t.slug for t in topics] == ["a", "b"]
    assert [t.slug for t in select_topics(topics, "b")] == ["b"]
    with pytest.raises(ConfigError, match=r"unknown topic 'c' \(topics: a, b\)"):
        select_topics(topics, "c")
    write(tmp_path / "q" / "c.toml", "[topic]\nslug = 'a'\n")
    with pytest.raises(ConfigError, match="slug 'a' is already used"):
        load_topics(tmp_path / "q")


def test_missing_topic_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="topic folder not found"):
        load_topics(tmp_path / "nope")


def test_find_line_follows_tables_and_arrays() -> None:
    text = "[a]\nx = 1\n\n[[f]]\nu = 1\n[[f]]\nu = 2\n[f.sub]\nk = 3\n"
    assert find_line(text, ("a", "x")) == 2
    assert find_line(text, ("f", 0, "u")) == 5
    assert find_line(text, ("f", 1, "u")) == 7
    assert find_line(text, ("f", 1, "sub", "k")) == 9
    assert find_line(text, ("a", "missing")) == 1


def test_retmax_is_no_longer_a_setting(tmp_path: Path) -> None:
    """``[pubmed] retmax`` was documented but never read; a file that still has it is told so."""
    text = TOPIC.replace("ftp://", "https://").replace(
        "query = '\"social prescri*\"[tiab]'", "query = 'x'\nretmax = 50"
    )
    path = write(tmp_path / "queries" / "sp.toml", text)
    with pytest.raises(ConfigError) as info:
        load_topic(path)
    assert str(info.value).startswith(f"{path} line 6: [pubmed] retmax ")
