"""Composing the digest (pure): golden messages, MIME structure, escaping, weeks, top items."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from html.parser import HTMLParser

import pytest
from digest_support import check_golden

from harvester.core.digest import (
    DigestData,
    DigestItem,
    Envelope,
    FeedProblem,
    RunProblem,
    SilentSource,
    iso_week,
    parse_week,
    top_items,
    week_start,
)
from harvester.mail.digest import compose

NOW = dt.datetime(2025, 1, 13, 8, 0, tzinfo=dt.UTC)
ENVELOPE = Envelope(
    sender="digest@library.example.org",
    recipients=("a@example.org", "b@example.org"),
    base_url="https://harvester.example.org/",
)


def _item(n: int, **kw: object) -> DigestItem:
    values: dict[str, object] = {
        "candidate_id": n,
        "title": f"Article {n}",
        "kind": "article",
        "source": "pubmed",
        "venue": "BMJ Open",
        "date": dt.date(2025, 1, n % 28 + 1),
        "abstract": "Background: " + "word " * 80,
        "arrived_at": NOW - dt.timedelta(hours=n),
    }
    values.update(kw)
    return DigestItem(**values)  # type: ignore[arg-type]


def _data(**kw: object) -> DigestData:
    values: dict[str, object] = {
        "topic": "social-prescribing",
        "topic_name": "Social prescribing",
        "week": "2025-W03",
        "since": NOW - dt.timedelta(days=7),
        "until": NOW,
        "counts": (("feeds", "news", 1), ("pubmed", "article", 3)),
        "outcomes": (("new", 2), ("rejected", 1), ("accepted", 1)),
        "waiting_counts": (("new", 2), ("deferred", 1)),
        "items": (
            _item(1, link="https://pubmed.ncbi.nlm.nih.gov/39000001/"),
            _item(
                2,
                title="Trial <b>bold</b> & <script>alert('x')</script>",
                link="https://doi.org/10.1136/bmjopen-2024-000002",
                status="deferred",
            ),
            _item(
                3,
                kind="news",
                source="feeds",
                venue="Example News",
                abstract=None,
                link="https://news.example.org/green",
            ),
        ),
        "feed_problems": (
            FeedProblem(
                "BBC <Health>",
                "https://feeds.example/rss",
                NOW - dt.timedelta(days=3),
                4,
                "HTTP 503",
            ),
        ),
        "run_problems": tuple(
            RunProblem("pubmed", NOW - dt.timedelta(days=day), "failed", "timed out")
            for day in (4, 3, 2)
        ),
        "silent": (SilentSource("pubmed", 21, NOW - dt.timedelta(weeks=3)),),
    }
    values.update(kw)
    return DigestData(**values)  # type: ignore[arg-type]


def test_digest_matches_the_golden_message() -> None:
    message = compose(_data(), ENVELOPE, now=NOW)
    check_golden("digest_week.eml", message.as_bytes(policy=policy.SMTP))


def test_empty_week_matches_the_golden_message() -> None:
    data = _data(
        counts=(),
        outcomes=(),
        waiting_counts=(),
        items=(),
        feed_problems=(),
        run_problems=(),
        silent=(),
    )
    check_golden("digest_empty.eml", compose(data, ENVELOPE, now=NOW).as_bytes(policy=policy.SMTP))


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.styled = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if any(name == "style" for name, _ in attrs):
            self.styled += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_structure_headers_escaping_and_inline_css() -> None:
    message = compose(_data(), ENVELOPE, now=NOW)
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert not any(part.get_content_disposition() == "attachment" for part in parsed.walk())
    assert parsed["Message-ID"] == "<digest.social-prescribing.2025-W03@library.example.org>"
    assert (
        str(parsed["List-Unsubscribe"])
        .strip()
        .startswith("<mailto:digest@library.example.org?subject=")
    )
    html_part = parsed.get_body(("html",))
    assert html_part is not None
    collector = _Collect()
    collector.feed(html_part.get_content())
    assert "script" not in collector.tags and "b" not in collector.tags
    assert "style" not in collector.tags  # inlined, the block removed
    assert collector.styled > 10
    text = "".join(collector.text)
    assert "Trial <b>bold</b> & <script>alert('x')</script>" in text
    assert "BBC <Health>" in text
    links = html_part.get_content()
    assert 'href="https://harvester.example.org/candidates/1"' in links
    plain = parsed.get_body(("plain",))
    assert plain is not None
    body = plain.get_content()
    assert "https://harvester.example.org/candidates/2" in body
    assert "PubMed found nothing in 21 runs" in body
    # two lines of abstract, cut on a word
    assert "Background: word word" in body and "…" in body


def test_message_id_is_stable_per_topic_and_week() -> None:
    first = compose(_data(), ENVELOPE, now=NOW)
    again = compose(_data(items=()), ENVELOPE, now=NOW + dt.timedelta(hours=5))
    other = compose(_data(week="2025-W04"), ENVELOPE, now=NOW)
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]


def test_no_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="no \\[digest\\] recipients"):
        compose(_data(), Envelope(sender="x@example.org", recipients=()), now=NOW)


def test_no_base_url_means_no_links() -> None:
    message = compose(
        _data(), Envelope(sender="x@example.org", recipients=("a@example.org",)), now=NOW
    )
    assert "/candidates/" not in message.as_string()


def test_top_items_by_score_else_newest() -> None:
    items = [_item(n) for n in range(1, 15)]
    assert [i.candidate_id for i in top_items(items)] == list(range(1, 11))
    scored = [_item(1, score=0.1), _item(2, score=0.9), _item(3)]
    assert [i.candidate_id for i in top_items(scored)] == [2, 1, 3]


def test_weeks() -> None:
    assert iso_week(dt.date(2025, 1, 1)) == "2025-W01"
    assert iso_week(dt.date(2024, 12, 30)) == "2025-W01"
    assert parse_week("2020-w53".upper()) == "2020-W53"
    with pytest.raises(ValueError, match="has no ISO week 53"):
        parse_week("2025-W53")
    with pytest.raises(ValueError, match="must look like"):
        parse_week("2025-3")
    assert week_start("2025-W03", dt.UTC) == dt.datetime(2025, 1, 13, tzinfo=dt.UTC)
