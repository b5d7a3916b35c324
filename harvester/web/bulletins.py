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
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from harvester.config.settings import Topic
from harvester.core.bulletin import BulletinDoc, period_label
from harvester.core.citation import entry_label
from harvester.core.errors import BulletinError, NotFoundError, QueueError
from harvester.core.layout import arrange
from harvester.render.formats import FORMATS, render
from harvester.store.candidates import candidate_versions
from harvester.store.db import Database
from harvester.store.notices import notices_for, notices_in_bulletins
from harvester.usecases.bulletin import workflow
from harvester.web.access import CsrfChecked, Reviewer, TopicFromPath, csrf_token
from harvester.web.deps import MAX_ID, Db, QueryId, RowId, Templates
from harvester.web.pages import EditForm, edit_card

router = APIRouter(include_in_schema=False)

#: The preview and the HTML download: the renderer's inline style attributes and nothing else.
PREVIEW_CSP = (  # the embedded logo is a data: URL
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


FormId = Annotated[int, Field(ge=1, le=MAX_ID)]


class EntryForm(BaseModel):
    entry: FormId


class MoveForm(EntryForm):
    section: str = ""
    position: Annotated[int, Field(ge=-MAX_ID, le=MAX_ID)]  # 1-based, as shown on the page


class SummaryForm(BaseModel):
    candidate: FormId
    version: Annotated[int, Field(ge=0, le=MAX_ID)]
    summary: str = ""


class PublishForm(BaseModel):
    confirm: str = ""
    bulletin: Annotated[int, Field(ge=0, le=MAX_ID)] = 0


def _draft(db: Database, topic: Topic) -> tuple[int, BulletinDoc] | None:
    try:
        return workflow.draft_doc(db, topic)
    except BulletinError:
        return None


def _versions(db: Database, doc: BulletinDoc | None) -> dict[int, int]:
    """The version of each entry's candidate, for the summary forms' version check."""
    if doc is None:
        return {}
    with db.read() as session:
        return candidate_versions(session, [item.candidate_id for item in doc.items])


def _no_draft(topic: Topic) -> NotFoundError:
    return NotFoundError(f"“{topic.name}” has no draft bulletin yet")


def _page_url(slug: str, entry: int | None = None) -> str:
    """The bulletin page; with ``entry``, at that entry, its preview following it."""
    if entry is None:
        return f"/topics/{slug}/bulletin"
    return f"/topics/{slug}/bulletin?entry={entry}#entry-{entry}"


def _flash(request: Request, text: str, *, error: bool = False) -> None:
    request.session["flash"] = {"text": text, "error": error}


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
    request: Request,
    user: Reviewer,
    topic: TopicFromPath,
    db: Db,
    templates: Templates,
    entry: QueryId = None,
) -> Response:
    slug = topic.slug
    found = _draft(db, topic)
    sections: list[tuple[str, list[Any]]] = []
    doc = None
    if found is not None:
        doc = found[1]
        sections = [(spec.title, items) for spec, items in arrange(doc)]
    past = [b for b in workflow.list_bulletins(db, slug) if b.status == "published"]
    with db.read() as session:
        draft_ids = [item.work_id for _, items in sections for item in items]
        notices = notices_for(session, draft_ids)
        past_notices = notices_in_bulletins(session, [b.id for b in past])
    return templates.TemplateResponse(
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
            "notices": notices,
            "past_notices": past_notices,
            "removed": workflow.removed_entries(db, found[0]) if found else [],
            "versions": _versions(db, doc),
            "period_label": period_label,
            "entry_label": entry_label,
            "current": entry,
            "csrf": csrf_token(request),
            "flash": request.session.pop("flash", None),
        },
    )


@router.post("/topics/{slug}/bulletin/draft")
def bulletin_draft(
    request: Request, user: Reviewer, topic: TopicFromPath, _csrf: CsrfChecked, db: Db
) -> Response:
    try:
        bulletin_id, doc, _ = workflow.draft(
            db, topic, now=dt.datetime.now(dt.UTC), actor=user.email
        )
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
    else:
        _flash(request, f"Draft {bulletin_id} refreshed: {len(doc.items)} entries.")
    return RedirectResponse(_page_url(topic.slug), status_code=303)


@router.get("/topics/{slug}/bulletin/preview", response_class=HTMLResponse)
def bulletin_preview(user: Reviewer, topic: TopicFromPath, db: Db) -> Response:  # noqa: ARG001
    found = _draft(db, topic)
    if found is None:
        raise _no_draft(topic)
    response = HTMLResponse(render(found[1], "html"))
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


@router.get("/topics/{slug}/bulletin/download/{fmt}")
def bulletin_download(user: Reviewer, topic: TopicFromPath, fmt: str, db: Db) -> Response:  # noqa: ARG001
    if fmt not in FORMATS:
        raise HTTPException(404, f"There is no {fmt!r} format.")
    found = _draft(db, topic)
    if found is None:
        raise _no_draft(topic)
    return _download(render(found[1], fmt), fmt, _filename(topic.slug, found[1], fmt, "draft"))


@router.get("/bulletins/{bulletin_id}/download/{fmt}")
def published_download(
    bulletin_id: RowId,
    fmt: str,
    user: Reviewer,  # noqa: ARG001 - access rule
    db: Db,
) -> Response:
    if fmt not in FORMATS:
        raise HTTPException(404, f"There is no {fmt!r} format.")
    try:
        doc = workflow.published_doc(db, bulletin_id)
    except BulletinError as exc:  # a draft has no published form to download
        raise NotFoundError(exc.message) from None
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
def bulletin_move(
    request: Request,
    user: Reviewer,  # noqa: ARG001 - access rule
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[MoveForm, Form()],
    db: Db,
) -> Response:
    slug = topic.slug
    entry_id = form.entry
    try:
        workflow.move_entry(db, topic, entry_id, form.section, max(form.position, 1) - 1)
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
        return RedirectResponse(_page_url(slug), status_code=303)
    found = _draft(db, topic)
    where = [
        (title.title, n)
        for title, items in (arrange(found[1]) if found else [])
        for n, item in enumerate(items, start=1)
        if item.entry_id == entry_id
    ]
    _flash(request, f"Moved to position {where[0][1]} of {where[0][0]}." if where else "Moved.")
    return RedirectResponse(_page_url(slug, entry_id), status_code=303)


@router.post("/topics/{slug}/bulletin/remove")
def bulletin_remove(
    request: Request,
    user: Reviewer,  # noqa: ARG001 - access rule
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[EntryForm, Form()],
    db: Db,
) -> Response:
    return _entry_change(
        request,
        db,
        topic,
        form.entry,
        "Removed from the draft; the item stays accepted in the queue.",
        workflow.remove_entry,
    )


@router.post("/topics/{slug}/bulletin/restore")
def bulletin_restore(
    request: Request,
    user: Reviewer,  # noqa: ARG001 - access rule
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[EntryForm, Form()],
    db: Db,
) -> Response:
    return _entry_change(
        request, db, topic, form.entry, "Put back into the draft.", workflow.restore_entry
    )


def _entry_change(
    request: Request,
    db: Database,
    topic: Topic,
    entry_id: int,
    done: str,
    action: Callable[[Database, Topic, int], None],
) -> Response:
    """``action`` on the draft entry the form names (remove it, put it back)."""
    return _change(request, topic.slug, done, lambda: action(db, topic, entry_id))


@router.post("/topics/{slug}/bulletin/summary")
def bulletin_summary(
    request: Request,
    user: Reviewer,
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[SummaryForm, Form()],
    db: Db,
) -> Response:
    """The card's summary edit (:func:`harvester.web.pages.edit_card`: a decision row and the
    version check), for an entry of the draft."""
    slug = topic.slug
    found = _draft(db, topic)
    if found is None or form.candidate not in {item.candidate_id for item in found[1].items}:
        raise NotFoundError("That item is not in the draft bulletin (any more): reload the page.")
    change = edit_card(
        db,
        form.candidate,
        EditForm(version=form.version, field="summary", summary=form.summary),
        user.email,
    )
    try:
        change()
    except QueueError as exc:  # ConflictError included: someone changed the item meanwhile
        _flash(request, exc.message, error=True)
    else:
        _flash(
            request,
            "Saved the summary."
            if form.summary.strip()
            else "Summary cleared: the abstract is shown.",
        )
    entry = next(i.entry_id for i in found[1].items if i.candidate_id == form.candidate)
    return RedirectResponse(_page_url(slug, entry), status_code=303)


class PeriodForm(BaseModel):
    period: str = Field(default="", max_length=200)


@router.post("/topics/{slug}/bulletin/period")
def bulletin_period(
    request: Request,
    user: Reviewer,  # noqa: ARG001 - access rule
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[PeriodForm, Form()],
    db: Db,
) -> Response:
    """The period printed under the title (blank: the span of the entries' dates)."""
    period = " ".join(form.period.split())
    return _change(
        request,
        topic.slug,
        f"The period now reads “{period}”."
        if period
        else "The period follows the entries' publication dates.",
        lambda: workflow.set_period(db, topic, period),
    )


@router.get("/topics/{slug}/bulletin/publish", response_class=HTMLResponse)
def bulletin_confirm(
    request: Request, user: Reviewer, topic: TopicFromPath, db: Db, templates: Templates
) -> Response:
    found = _draft(db, topic)
    if found is None:
        raise _no_draft(topic)
    return templates.TemplateResponse(
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
def bulletin_publish(
    request: Request,
    user: Reviewer,
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[PublishForm, Form()],
    db: Db,
) -> Response:
    slug = topic.slug
    if form.confirm != "yes":
        return RedirectResponse(f"{_page_url(slug)}/publish", status_code=303)
    found = _draft(db, topic)
    if found is None or found[0] != form.bulletin:
        _flash(request, "The draft changed since you confirmed: check it again.", error=True)
        return RedirectResponse(_page_url(slug), status_code=303)
    try:
        view = workflow.publish(db, topic, now=dt.datetime.now(dt.UTC), actor=user.email)
    except BulletinError as exc:
        _flash(request, exc.message, error=True)
    else:
        _flash(request, f"Published bulletin {view.id} with {view.entries} entries.")
    return RedirectResponse(_page_url(slug), status_code=303)
