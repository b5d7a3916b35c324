"""Canonical URLs: tracking parameters, Google redirects, host and port spelling, idempotence."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harvester.core.urls import canonical_url, identifies_record, is_http_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM:80/Path/Page.html", "http://example.com/Path/Page.html"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com./a#section-2", "https://example.com/a"),
        ("  https://example.com/a?b=1  ", "https://example.com/a?b=1"),
        (
            "https://www.bbc.co.uk/news/health-1?at_medium=RSS&at_campaign=KARANGA",
            "https://www.bbc.co.uk/news/health-1",
        ),
        (
            "https://www.theguardian.com/society/2024/a?CMP=Share_iOSApp_Other",
            "https://www.theguardian.com/society/2024/a",
        ),
        (
            "https://ex.org/p?id=7&utm_source=rss&utm_medium=feed&fbclid=x&gclid=y&mc_cid=z&mc_eid=w",
            "https://ex.org/p?id=7",
        ),
        ("https://ex.org/p?b=2&a=1&utm_term=x", "https://ex.org/p?b=2&a=1"),  # order kept
        ("https://ex.org/p?q=a%20b&x=%2F", "https://ex.org/p?q=a%20b&x=%2F"),  # encoding kept
        ("https://ex.org/p?utm_source=x", "https://ex.org/p"),
        ("https://ex.org/p?&&id=1&", "https://ex.org/p?id=1"),
        ("https://user:pw@Ex.org/", "https://user:pw@ex.org/"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
        ("/relative/path", "/relative/path"),
        ("https://[broken/", "https://[broken/"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_google_alerts_redirect_is_resolved() -> None:
    # From feedjira_google_alerts_atom.xml (tests/fixtures/feeds).
    link = (
        "https://www.google.com/url?rct=j&sa=t&url=https://www.aglobalmarketresearch.com/"
        "report-offers-prediction-of-automotive-slack-market-by-top-key-players-like-haldex-"
        "meritor-bendix/&ct=ga&cd=CAIyGjZkMzcwZmY0MWZmNGE4MmQ6Y29tOmVuOlVT&usg=AFQjCNE"
    )
    assert canonical_url(link) == (
        "https://www.aglobalmarketresearch.com/report-offers-prediction-of-automotive-slack-"
        "market-by-top-key-players-like-haldex-meritor-bendix/"
    )


def test_encoded_redirect_target_is_decoded_then_cleaned() -> None:
    link = "https://www.google.co.uk/url?q=https%3A%2F%2FNews.example%2Fa%3Fid%3D1%26utm_source%3Dg&sa=U"
    assert canonical_url(link) == "https://news.example/a?id=1"


def test_redirect_without_http_target_stays() -> None:
    link = "https://www.google.com/url?q=javascript:alert(1)"
    assert canonical_url(link) == link
    assert canonical_url("https://news.google.com/rss/articles/CBMiK2h0?oc=5") == (
        "https://news.google.com/rss/articles/CBMiK2h0?oc=5"
    )


def test_nested_redirects_unwrap() -> None:
    inner = "https://www.google.com/url?url=https://ex.org/a%3Futm_source%3Dx"
    outer = "https://www.google.com/url?url=" + inner.replace("%", "%25").replace("?", "%3F")
    assert canonical_url(outer) == "https://ex.org/a"


def test_is_http_url() -> None:
    assert is_http_url("https://ex.org/")
    assert not is_http_url("ftp://ex.org/")
    assert not is_http_url("https://")
    assert not is_http_url(None)
    assert not is_http_url("http://[bad")


_urls = st.builds(
    lambda scheme, host, port, path, query, frag: (
        f"{scheme}://{host}{port}/{path}{'?' + query if query else ''}{'#' + frag if frag else ''}"
    ),
    st.sampled_from(["http", "https", "HTTP", "HtTpS"]),
    st.from_regex(r"[A-Za-z0-9-]{1,10}(\.[A-Za-z]{2,5}){1,2}\.?", fullmatch=True),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.text(alphabet="abcXYZ019-_./%~", max_size=15),
    st.lists(
        st.tuples(
            st.sampled_from(["id", "utm_source", "fbclid", "q", "UTM_Medium", "page", "url"]),
            st.text(alphabet="abc12%=/:.", max_size=8),
        ),
        max_size=4,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
    st.text(alphabet="abc", max_size=4),
)


@given(_urls)
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "#" not in once
    names = [part.partition("=")[0].lower() for part in once.partition("?")[2].split("&")]
    assert not any(name.startswith("utm_") or name == "fbclid" for name in names)


@given(st.text(max_size=60))
def test_canonical_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Ex.org/#!/article/123", "https://ex.org/#!/article/123"),
        ("https://ex.org/app?utm_source=x#/news/5", "https://ex.org/app#/news/5"),
        ("https://ex.org/app#section-2", "https://ex.org/app"),
    ],
)
def test_fragments_that_are_routes_are_kept(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_idn_hosts_are_spelled_in_ascii() -> None:
    assert canonical_url("https://BÜCHER.example/Straße") == "https://xn--bcher-kva.example/Straße"
    assert canonical_url("https://bücher.example:443/a") == canonical_url(
        "https://xn--bcher-kva.example/a"
    )


@pytest.mark.parametrize(
    "link",
    [
        "https://news.google.com/news/url?sa=t&fd=R&ct2=uk&usg=AFQ&url=https://ex.org/a%3Fid%3D1",
        "http://news.google.com/news/url?sa=t&fd=R&url=https%3A%2F%2Fex.org%2Fa%3Fid%3D1&ei=x",
        "https://news.google.co.uk/news/url?url=https://ex.org/a?id%3D1&utm_source=gn",
        "https://news.google.com/url?url=https://ex.org/a%3Fid%3D1",
    ],
)
def test_google_news_redirects_are_resolved(link: str) -> None:
    assert canonical_url(link) == "https://ex.org/a?id=1"


@pytest.mark.parametrize(
    ("url", "identifies"),
    [
        ("https://doi.org/", False),
        ("https://dx.doi.org", False),
        ("https://www.ncbi.nlm.nih.gov/pubmed/", False),
        ("https://journals.lww.com/jbjsjournal", False),
        ("https://news.example.org/health/", False),
        ("https://www.thelancet.com/journals/lancet/home", False),
        ("https://blog.example.org/what-is-social-prescribing/", True),
        ("https://www.bmj.com/search/advanced", False),
        ("https://pubmed.ncbi.nlm.nih.gov/?term=social+prescribing", False),
        ("https://example.org/results?q=loneliness&page=2", False),
        ("https://doi.org/10.1000/xyz", True),
        ("https://pubmed.ncbi.nlm.nih.gov/12345678/", True),
        ("https://news.example.org/2024/05/link-workers", True),
        ("https://example.org/?p=123", True),
        ("https://example.org/story-2024", True),
        ("not a url", False),
    ],
)
def test_a_url_identifies_a_record_only_below_a_root_home_or_search_page(
    url: str, identifies: bool
) -> None:
    assert identifies_record(url) is identifies
