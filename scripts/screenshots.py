"""Take the README's screenshots of a running `harvester serve` with Debian's Chromium.

Usage: python scripts/screenshots.py BASE_URL EMAIL PASSWORD TOPIC [OUT_DIR]

Signs in, opens TOPIC's queue at 1280x800 and writes OUT_DIR/queue.png (the page) and
OUT_DIR/card.png (the first card whose abstract has a highlighted phrase, else the first card),
then TOPIC's bulletin page as OUT_DIR/bulletin.png (draft it first for a preview to show), its
settings page as OUT_DIR/topic.png and the people page as OUT_DIR/people.png (an admin's).
OUT_DIR defaults to docs/.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def main() -> None:
    base, email, password, topic = sys.argv[1:5]
    out = Path(sys.argv[5] if len(sys.argv) > 5 else "docs")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800}, base_url=base)
        page.goto("/login")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"/topics/{topic}?status=all")
        page.screenshot(path=str(out / "queue.png"))
        marked = page.locator("article.card", has=page.locator("mark"))
        card = marked.first if marked.count() else page.locator("article.card").first
        card.locator("details.prov summary").click()
        card.screenshot(path=str(out / "card.png"))
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"/topics/{topic}/bulletin")
        page.locator("iframe").first.wait_for() if page.locator("iframe").count() else None
        page.wait_for_load_state("load")
        page.screenshot(path=str(out / "bulletin.png"))
        page.goto(f"/topics/{topic}/settings")
        page.set_viewport_size({"width": 1280, "height": 1100})
        page.screenshot(path=str(out / "topic.png"))
        page.goto("/people")
        page.screenshot(path=str(out / "people.png"))
        browser.close()
    print(  # noqa: T201 - a script reports
        f"wrote queue.png, card.png, bulletin.png, topic.png and people.png in {out}"
    )


if __name__ == "__main__":
    main()
