"""The review queue in a real browser: Debian's Chromium driven by Playwright.

Skipped, with the reason, where /usr/bin/chromium or Playwright is absent; .ci/run installs both.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from websupport import ADMIN, REVIEWER, TOPIC, XSS_TITLE, build, live_server, seed

from harvester.store.db import Database
from harvester.store.tables import Candidate, Decision, Work

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason=f"{CHROMIUM} is absent: apt-get install chromium chromium-driver",
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is absent")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def site(tmp_path: Path, sqlite_db: Database) -> Iterator[str]:
    seed(sqlite_db)
    with live_server(build(tmp_path, sqlite_db)) as base:
        yield base


def new_page(
    browser: Any, base: str, account: tuple[str, str] | None = REVIEWER, *, bypass_csp: bool = False
) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=base, bypass_csp=bypass_csp
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    if account is not None:
        page.goto("/")
        page.get_by_label("E-mail address").fill(account[0])
        page.get_by_label("Password").fill(account[1])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**/topics/{TOPIC}")
    return page


def status_of(db: Database, title_part: str) -> tuple[str, str | None, str | None]:
    with db.read() as session:
        row = session.execute(
            select(Candidate.status, Candidate.reason, Candidate.decided_by)
            .join(Work)
            .where(Work.title.contains(title_part))
        ).one()
    return row.status, row.reason, row.decided_by


def card(page: Any, n: int) -> Any:
    return page.locator("article.card").nth(n)


def test_a_reviewer_works_through_the_queue_with_the_keyboard(
    browser: Any, site: str, sqlite_db: Database
) -> None:
    page = new_page(browser, site)
    # filter: a text search narrows the queue
    page.keyboard.press("/")
    page.keyboard.type("cohort 26")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=cohort+26**")
    assert page.locator("article.card").count() == 1
    page.goto(f"/topics/{TOPIC}")
    titles = page.locator("article.card h2").all_inner_texts()
    assert len(titles) == 7
    # accept with the keyboard: the first card is current; a accepts and moves on
    page.keyboard.press("a")
    expect = sync_api.expect
    expect(card(page, 0).locator(".badge").first).to_have_text("accepted · Journal articles")
    assert status_of(sqlite_db, titles[0][:30]) == ("accepted", None, REVIEWER[0])
    # reject with a reason: pick it on the (now current) second card, then r
    card(page, 1).get_by_label("Reason for rejecting").select_option("Not UK")
    card(page, 1).click(position={"x": 5, "y": 5})
    page.keyboard.press("r")
    expect(card(page, 1).locator(".badge").first).to_have_text("rejected")
    assert status_of(sqlite_db, titles[1][:30]) == ("rejected", "Not UK", REVIEWER[0])
    # undo: k back to the rejected card, u
    page.keyboard.press("k")
    page.keyboard.press("u")
    expect(card(page, 1).locator(".badge").first).to_have_text("new")
    assert status_of(sqlite_db, titles[1][:30]) == ("new", None, REVIEWER[0])
    # bulk defer: select cards 3 and 4 with x, then the bulk form
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.get_by_label("With the selected cards").select_option("defer")
    page.get_by_role("button", name="Apply to selection").click()
    expect(page.get_by_role("status").first).to_contain_text("2 marked deferred")
    assert status_of(sqlite_db, titles[3][:30])[0] == "deferred"
    assert status_of(sqlite_db, titles[4][:30])[0] == "deferred"
    # the help dialog opens with ?
    page.keyboard.press("?")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    # add by hand goes into the queue through the ingest
    page.get_by_role("link", name="Add an item by hand").click()
    page.get_by_label("Title (required)").fill("Council backs social prescribing hub")
    page.get_by_label("URL, DOI or PMID").fill("https://council.example/news/hub")
    page.get_by_label("Source or byline").fill("Council news")
    page.get_by_label("Summary").fill("A new hub for link workers.")
    page.get_by_role("button", name="Add to the queue").click()
    expect(page.locator("article.card", has_text="Council backs")).to_be_visible()
    assert status_of(sqlite_db, "Council backs") == ("new", None, None)
    with sqlite_db.read() as session:
        actors = set(session.scalars(select(Decision.actor)))
    assert REVIEWER[0] in actors


def test_a_feed_entry_carrying_script_stays_inert(browser: Any, site: str) -> None:
    page = new_page(browser, site)
    page.goto(f"/topics/{TOPIC}?kind=news")
    heading = page.locator("article.card h2").first
    sync_api.expect(heading).to_have_text(XSS_TITLE)  # shown as text
    assert heading.locator("a").count() == 0  # a javascript: URL is no link
    assert page.evaluate("document.querySelectorAll('article script, article img').length") == 0
    page.wait_for_timeout(300)  # an alert would have failed the test through the dialog hook


def test_a_form_post_without_the_csrf_token_is_refused(
    browser: Any, site: str, sqlite_db: Database
) -> None:
    page = new_page(browser, site)
    candidate = card(page, 0)
    cid = candidate.get_attribute("data-id")
    version = candidate.get_attribute("data-version")
    response = page.request.post(
        f"/candidates/{cid}/decide", form={"action": "accept", "version": str(version)}
    )
    assert response.status == 403
    with sqlite_db.read() as session:
        assert session.get_one(Candidate, int(str(cid))).status == "new"


def test_an_api_call_without_a_token_is_refused(browser: Any, site: str) -> None:
    anonymous = new_page(browser, site, account=None)
    assert anonymous.request.get(f"/api/topics/{TOPIC}/candidates").status == 401
    signed_in = new_page(browser, site)
    # a session is no token: a script-style write through the API is refused
    response = signed_in.request.post(
        "/api/candidates/1/decisions", data={"action": "accept", "version": 1}
    )
    assert response.status == 401


def test_two_reviewers_deciding_one_card_see_the_conflict(
    browser: Any, site: str, sqlite_db: Database
) -> None:
    ann = new_page(browser, site, REVIEWER)
    bob = new_page(browser, site, ADMIN)
    title = card(ann, 0).locator("h2").inner_text()
    ann.keyboard.press("a")
    sync_api.expect(card(ann, 0).locator(".badge").first).to_contain_text("accepted")
    bob.keyboard.press("r")  # Bob still sees the card as new
    alert = card(bob, 0).get_by_role("alert")
    sync_api.expect(alert).to_contain_text(f"changed by {REVIEWER[0]}")
    sync_api.expect(alert).to_contain_text("Nothing you sent was saved")
    sync_api.expect(card(bob, 0).locator(".badge").first).to_contain_text("accepted")
    assert status_of(sqlite_db, title[:30]) == ("accepted", None, REVIEWER[0])


@pytest.mark.parametrize("path", ["/login", f"/topics/{TOPIC}", "/runs"])
def test_no_serious_accessibility_violations(browser: Any, site: str, path: str) -> None:
    # axe is injected by the test, so only this context lets an injected script past the CSP
    page = new_page(browser, site, None if path == "/login" else ADMIN, bypass_csp=True)
    page.goto(path)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, "\n".join(bad)


def _axe_violations(page: Any) -> list[str]:
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _accept_two_and_draft(page: Any) -> list[str]:
    titles = page.locator("article.card h2").all_inner_texts()[:2]
    page.keyboard.press("a")
    sync_api.expect(card(page, 0).locator(".badge").first).to_contain_text("accepted")
    page.keyboard.press("a")
    sync_api.expect(card(page, 1).locator(".badge").first).to_contain_text("accepted")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Bulletin").click()
    page.get_by_role("button", name="Draft the bulletin from accepted items").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("2 entries")
    return titles


def test_a_reviewer_edits_downloads_and_publishes_the_bulletin(
    browser: Any, site: str, sqlite_db: Database
) -> None:
    import json

    from harvester.store.tables import BulletinEntry

    expect = sync_api.expect
    page = new_page(browser, site)
    first, second = _accept_two_and_draft(page)
    entries = page.locator("li.entry")
    assert entries.count() == 2
    # move the first entry into the News section
    moved = entries.filter(has_text=first)
    moved.locator("summary").click()  # one "Edit" per entry holds its summary, place, removal
    moved.get_by_label("Section").select_option("News")
    moved.get_by_role("button", name="Move", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Moved to position 1 of News")
    with sqlite_db.read() as session:
        sections = dict(
            session.execute(
                select(Work.title, BulletinEntry.section)
                .join(Candidate, Candidate.id == BulletinEntry.candidate_id)
                .join(Work, Work.id == Candidate.work_id)
            ).all()
        )
    assert sections[first] == "News"
    # edit the other's summary: saved, and shown in the preview
    other = page.locator("li.entry").filter(has_text=second)
    other.locator("summary").click()
    other.get_by_label("Summary (blank: the abstract is used)").fill("Link workers cut GP visits.")
    other.get_by_role("button", name="Save summary").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the summary")
    preview = page.frame_locator("iframe[title^='Preview']")
    expect(preview.get_by_text("Link workers cut GP visits.")).to_be_visible()
    # the preview follows the entry being edited: the one just saved, then the one opened
    frame = page.locator("iframe[title^='Preview']")
    other_id = other.get_attribute("id")
    assert (frame.get_attribute("src") or "").endswith(f"#{other_id}")
    first_entry = page.locator("li.entry").filter(has_text=first)
    first_entry.locator("summary").click()
    expect(frame).to_have_attribute("src", re.compile(f"#{first_entry.get_attribute('id')}$"))
    with sqlite_db.read() as session:
        summary = session.scalar(select(Candidate.summary).join(Work).where(Work.title == second))
    assert summary == "Link workers cut GP visits."
    # every format downloads with its content type
    checks = {
        "HTML (e-mail)": ("text/html", lambda b: b.startswith(b"<!DOCTYPE html>")),
        "Markdown": ("text/markdown", lambda b: b"Link workers cut GP visits." in b),
        "Word": (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            lambda b: b.startswith(b"PK"),
        ),
        "PDF": ("application/pdf", lambda b: b.startswith(b"%PDF")),
        "RIS": ("application/x-research-info-systems", lambda b: b.count(b"TY  - ") == 2),
        "CSL-JSON": ("application/vnd.citationstyles.csl+json", lambda b: len(json.loads(b)) == 2),
    }
    downloads = page.get_by_role("region", name="Download the draft")
    for label, (content_type, looks_right) in checks.items():
        href = downloads.get_by_role("link", name=label).get_attribute("href")
        response = page.request.get(href)
        assert response.status == 200, label
        assert response.headers["content-type"].startswith(content_type), label
        assert "attachment" in response.headers["content-disposition"], label
        assert looks_right(response.body()), label
    # remove the moved entry: it is back among the accepted items of the queue
    removed = page.locator("li.entry").filter(has_text=first)  # its "Edit" is open
    removed.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("stays accepted")
    assert page.locator("li.entry").count() == 1
    page.goto(f"/topics/{TOPIC}?status=accepted")
    expect(page.locator("article.card h2", has_text=first)).to_be_visible()
    # publish, after the confirmation
    page.goto(f"/topics/{TOPIC}/bulletin")
    page.get_by_role("link", name="Publish…").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Publish the bulletin")
    page.get_by_role("button", name="Yes, publish 1 entry").click()
    expect(page.get_by_role("status")).to_contain_text("Published bulletin")
    assert status_of(sqlite_db, second[:30])[0] == "published"
    assert status_of(sqlite_db, first[:30])[0] == "accepted"
    for status in ("new", "accepted", "all"):
        page.goto(f"/topics/{TOPIC}?status={status}")
        shown = page.locator("article.card h2").all_inner_texts()
        assert (second in shown) == (status == "all"), status
    # the published bulletin stays downloadable
    page.goto(f"/topics/{TOPIC}/bulletin")
    href = (
        page.get_by_role("region", name="Published bulletins")
        .get_by_role("link", name="PDF")
        .get_attribute("href")
    )
    assert page.request.get(href).body().startswith(b"%PDF")


def test_the_bulletin_page_has_no_serious_accessibility_violations(browser: Any, site: str) -> None:
    page = new_page(browser, site, bypass_csp=True)
    _accept_two_and_draft(page)
    assert not (bad := _axe_violations(page)), "\n".join(bad)
