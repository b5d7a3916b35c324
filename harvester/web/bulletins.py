"""The bulletin page of a topic: the draft previewed as it will look, entries moved between and
within sections, summaries edited, entries removed (their candidates stay accepted), every format
downloaded, and the draft published after a confirmation.

Every change is a plain form POST with the CSRF token, answered by a redirect back to the page,
so the page works without JavaScript. Every rule lives in :mod:`harvester.usecases.bulletin.workflow` (and
the pure :mod:`harvester.core.layout` behind it); this module only reads forms and calls it.

The preview is the real HTML renderer's output. It carries record text from outside, so it is
never put into the page itself: the page shows it in an ``<iframe sandbox>`` loading
``/topics/{slug}/bulletin/preview``, which is served with its own Content Security Policy (no
script of any kind, no other origin, style attributes only, a sandbox) on top of the renderer's
escaping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from harvester.config.settings import Topic
from harvester.core.bulletin import BulletinDoc, period_label
from harvester.core.citation import entry_label
from harvester.core.errors import BulletinError, NotFoundError
from harvester.core.layout import arrange
from harvester.render.formats import FORMATS, render
from harvester.store.db import Database
from harvester.usecases.bulletin import workflow
from harvester.web.auth import PageUser, check_csrf, csrf_token

router = APIRouter(include_in_schema=False)

#: The preview and the HTML download: the renderer's inline style attributes and the embedded
#: logo (a data: URL), nothing else.
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "ris": "application/x-research-info-systems; charset=utf-8",
    "csljson": "application/vnd.citationstyles.csl+json; charset=utf-8",
}
SUFFIXES = {
    "html": "html",
    "md": "md",
    "docx": "docx",
    "pdf": "pdf",
    "ris": "ris",
    "csljson": "json",
}
FORMAT_LABELS = {
    "html": "HTML (e-mail)",
    "md": "Markdown",
    "docx": "Word",
    "pdf": "PDF",
    "ris": "RIS",
    "csljson": "CSL-JSON",
}


def _topic(request: Request, slug: str) -> Topic:
    try:
        topic: Topic = request.app.state.topics.get(slug)
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None
    return topic


def _draft(request: Request, topic: Topic) -> tuple[int, BulletinDoc] | None:
    try:
        return workflow.draft_doc(request.app.state.db, topic)
    except BulletinError:
        return None


def _page_url(slug: str, entry: int | None = None) -> str:
    """The bulletin page; with ``entry``, at that entry, its preview following it."""
    if entry is None:
        return f"/topics/{slug}/bulletin"
    return f"/topics/{slug}/bulletin?entry={entry}#entry-{entry}"


def _flash(request: Request, text: str, *, error: bool = False) -> None:
    request.session["flash"] = {"text": text, "error": error}


def _int(form: Any, name: str) -> int:
    try:
        return int(str(form.get(name, "")))
    except ValueError:
        raise HTTPException(400, f"the form has no valid {name}; reload the page") from None


def _download(data: bytes, fmt: str, filename: str) -> Response:
    response = Response(content=data, media_type=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if fmt == "html":
        response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


def _filename(slug: str, doc: BulletinDoc, fmt: str, label: str) -> str:
    day = (doc.period_to or dt.datetime.now(dt.UTC).date()).isoformat()
    return f"{slug}-bulletin-{label}-{day}.{SUFFIXES[fmt]}"


@router.get("/topics/{slug}/bulletin", response_class=HTMLResponse)
def bulletin_page(
    request: Request, slug: str, user: PageUser, entry: int | None = None
) -> Response:
    topic = _topic(request, slug)
    found = _draft(request, topic)
    sections: list[tuple[str, list[Any]]] = []
    doc = None
    if found is not None:
        doc = found[1]
        sections = [(spec.title, items) for spec, items in arrange(doc)]
    past = [
        b for b in workflow.list_bulletins(request.app.state.db, slug) if b.status == "published"
    ]
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "bulletin.html",
        {
            "user": user,
            "topic": topic,
            "doc": doc,
            "bulletin_id": found[0] if found else None,
            "sections": sections,
            "section_titles": [title for title, _ in sections],
            "count": sum(len(items) for _, items in sections),
            "formats": [(fmt, FORMAT_LABELS[fmt]) for fmt in FORMATS],
            "past": past,
            "removed": workflow.removed_entries(request.app.state.db, found[0]) if found else [],
            "period_label": period_label,
            "entry_label": entry_label,
            "current": entry,
            "csrf": csrf_token(request),
            "flash": request.session.pop("flash", None),
        },
    )


@router.post("/topics/{slug}/bulletin/draft")
async def bulletin_draft(request: Request, slug: str, user: PageUser) -> Response:
    await check_csrf(request)
    topic = _topic(request, slug)
    try:
        bulletin_id, doc, _ = workflow.draft(
            request.app.state.db, topic, now=dt.datetime.now(dt.UTC), actor=user.email
        )
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
    else:
        _flash(request, f"Draft {bulletin_id} refreshed: {len(doc.items)} entries.")
    return RedirectResponse(_page_url(slug), status_code=303)


@router.get("/topics/{slug}/bulletin/preview", response_class=HTMLResponse)
def bulletin_preview(request: Request, slug: str, user: PageUser) -> Response:  # noqa: ARG001
    topic = _topic(request, slug)
    found = _draft(request, topic)
    if found is None:
        raise HTTPException(404, f"topic {slug!r} has no draft bulletin")
    response = HTMLResponse(render(found[1], "html"))
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@router.get("/topics/{slug}/bulletin/download/{fmt}")
def bulletin_download(request: Request, slug: str, fmt: str, user: PageUser) -> Response:  # noqa: ARG001
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown format {fmt!r}")
    topic = _topic(request, slug)
    found = _draft(request, topic)
    if found is None:
        raise HTTPException(404, f"topic {slug!r} has no draft bulletin")
    return _download(render(found[1], fmt), fmt, _filename(slug, found[1], fmt, "draft"))


@router.get("/bulletins/{bulletin_id}/download/{fmt}")
def published_download(
    request: Request,
    bulletin_id: int,
    fmt: str,
    user: PageUser,  # noqa: ARG001
) -> Response:
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown format {fmt!r}")
    try:
        doc = workflow.published_doc(request.app.state.db, bulletin_id)
    except BulletinError as exc:
        raise HTTPException(404, exc.message) from None
    return _download(render(doc, fmt), fmt, f"bulletin-{bulletin_id}.{SUFFIXES[fmt]}")


def _change(
    request: Request, slug: str, done: str, call: Any, entry: int | None = None
) -> Response:
    try:
        call()
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
    else:
        _flash(request, done)
    return RedirectResponse(_page_url(slug, entry), status_code=303)


@router.post("/topics/{slug}/bulletin/move")
async def bulletin_move(request: Request, slug: str, user: PageUser) -> Response:  # noqa: ARG001
    form = await check_csrf(request)
    topic = _topic(request, slug)
    entry_id = _int(form, "entry")
    section = str(form.get("section") or "")
    position = _int(form, "position")  # 1-based, as shown on the page
    try:
        workflow.move_entry(request.app.state.db, topic, entry_id, section, max(position, 1) - 1)
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
        return RedirectResponse(_page_url(slug), status_code=303)
    found = _draft(request, topic)
    where = [
        (title.title, n)
        for title, items in (arrange(found[1]) if found else [])
        for n, item in enumerate(items, start=1)
        if item.entry_id == entry_id
    ]
    _flash(request, f"Moved to position {where[0][1]} of {where[0][0]}." if where else "Moved.")
    return RedirectResponse(_page_url(slug, entry_id), status_code=303)


@router.post("/topics/{slug}/bulletin/remove")
async def bulletin_remove(request: Request, slug: str, user: PageUser) -> Response:  # noqa: ARG001
    return await _entry_change(
        request,
        slug,
        "Removed from the draft; the item stays accepted in the queue.",
        workflow.remove_entry,
    )


@router.post("/topics/{slug}/bulletin/restore")
async def bulletin_restore(request: Request, slug: str, user: PageUser) -> Response:  # noqa: ARG001
    return await _entry_change(request, slug, "Put back into the draft.", workflow.restore_entry)


async def _entry_change(
    request: Request, slug: str, done: str, action: Callable[[Database, Topic, int], None]
) -> Response:
    """``action`` on the draft entry the form names (remove it, put it back)."""
    form = await check_csrf(request)
    topic = _topic(request, slug)
    entry_id = _int(form, "entry")
    return _change(request, slug, done, lambda: action(request.app.state.db, topic, entry_id))


@router.post("/topics/{slug}/bulletin/summary")
async def bulletin_summary(request: Request, slug: str, user: PageUser) -> Response:  # noqa: ARG001
    form = await check_csrf(request)
    topic = _topic(request, slug)
    candidate_id = _int(form, "candidate")
    found = _draft(request, topic)
    if found is None or candidate_id not in {item.candidate_id for item in found[1].items}:
        raise HTTPException(404, f"candidate {candidate_id} is not in the draft of {slug!r}")
    summary = str(form.get("summary") or "")
    entry = next(i.entry_id for i in found[1].items if i.candidate_id == candidate_id)
    return _change(
        request,
        slug,
        "Saved the summary." if summary.strip() else "Summary cleared: the abstract is shown.",
        lambda: workflow.edit_summary(request.app.state.db, candidate_id, summary),
        entry,
    )


@router.post("/topics/{slug}/bulletin/period")
async def bulletin_period(request: Request, slug: str, user: PageUser) -> Response:  # noqa: ARG001
    """The period printed under the title (blank: the span of the entries' dates)."""
    form = await check_csrf(request)
    topic = _topic(request, slug)
    period = " ".join(str(form.get("period") or "").split())
    return _change(
        request,
        slug,
        f"The period now reads “{period}”."
        if period
        else "The period follows the entries' publication dates.",
        lambda: workflow.set_period(request.app.state.db, topic, period),
    )


@router.get("/topics/{slug}/bulletin/publish", response_class=HTMLResponse)
def bulletin_confirm(request: Request, slug: str, user: PageUser) -> Response:
    topic = _topic(request, slug)
    found = _draft(request, topic)
    if found is None:
        raise HTTPException(404, f"topic {slug!r} has no draft bulletin")
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "bulletin_publish.html",
        {
            "user": user,
            "topic": topic,
            "doc": found[1],
            "bulletin_id": found[0],
            "csrf": csrf_token(request),
        },
    )


@router.post("/topics/{slug}/bulletin/publish")
async def bulletin_publish(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    topic = _topic(request, slug)
    if form.get("confirm") != "yes":
        return RedirectResponse(f"{_page_url(slug)}/publish", status_code=303)
    found = _draft(request, topic)
    if found is None or found[0] != _int(form, "bulletin"):
        _flash(request, "The draft changed since you confirmed: check it again.", error=True)
        return RedirectResponse(_page_url(slug), status_code=303)
    try:
        view = workflow.publish(
            request.app.state.db, topic, now=dt.datetime.now(dt.UTC), actor=user.email
        )
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
    else:
        _flash(request, f"Published bulletin {view.id} with {view.entries} entries.")
    return RedirectResponse(_page_url(slug), status_code=303)
