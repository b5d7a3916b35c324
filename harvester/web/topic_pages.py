"""A topic's settings page: what is harvested (the PubMed query, tried before it is saved; the
phrases, tried on the queue; the feeds, checked when added, OPML in and out), when (in words),
who gets the digest and how the bulletin looks; its change history; and "Harvest now".

Every change is checked by the topic file rules and saved as the topic's document, with who
made it and when (:mod:`harvester.store.topics`). A change made from an older copy of the page
is refused, naming who changed the topic since.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any
from urllib.parse import quote_plus

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from harvester.config.settings import Topic, parse_topic
from harvester.config.topic_form import (
    TopicFields,
    add_feeds,
    fields_of,
    lines,
    new_topic_document,
    remove_feed,
    with_fields,
)
from harvester.core.errors import HarvesterError, NotFoundError
from harvester.service.harvest_now import HarvestJobs
from harvester.sources import source_names
from harvester.sources.discover import FeedOutline, check_feed, read_opml, write_opml
from harvester.store import topics as store
from harvester.store.candidates import CandidateQuery, candidate_page
from harvester.store.runs import source_label
from harvester.usecases.try_query import try_phrases, try_pubmed_query
from harvester.web.access import can_edit, require
from harvester.web.auth import PageUser, check_csrf, csrf_token

router = APIRouter(include_in_schema=False)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_OPML_BYTES = 2_000_000


def _stored(request: Request, slug: str) -> tuple[store.StoredTopic, Topic | None]:
    with request.app.state.db.read() as session:
        row = store.stored_topic(session, slug)
    if row is None:
        raise HTTPException(404, f"There is no topic {slug!r}.")
    try:
        return row, parse_topic(row.document, f"topic {slug}", default_slug=slug)
    except HarvesterError:
        return row, None


def harvest_jobs(request: Request) -> HarvestJobs:
    jobs = getattr(request.app.state, "harvest_jobs", None)
    if jobs is None:
        jobs = HarvestJobs(request.app.state.db, request.app.state.settings)
        request.app.state.harvest_jobs = jobs
    return jobs


def _page(
    request: Request,
    user: Any,
    slug: str,
    *,
    fields: TopicFields | None = None,
    document: str | None = None,
    error: str | None = None,
    notice: str | None = None,
    trial: Any = None,
    phrase_trial: Any = None,
    feed_check: Any = None,
    status: int = 200,
) -> Response:
    require(request, user, slug)
    row, topic = _stored(request, slug)
    with request.app.state.db.read() as session:
        history = store.topic_changes(session, slug, limit=20)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "topic_settings.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "topic": {"slug": slug, "name": topic.name if topic else slug},
            "row": row,
            "settings": topic,
            "fields": fields or (fields_of(topic) if topic else None),
            "document": document if document is not None else row.document,
            "history": history,
            "error": error,
            "notice": notice,
            "trial": trial,
            "phrase_trial": phrase_trial,
            "feed_check": feed_check,
            "can_edit": can_edit(request, user, slug),
            "running": harvest_jobs(request).running_for(slug),
            "sources": [(name, source_label(name)) for name in source_names()],
        },
        status_code=status,
    )


def _editor(request: Request, user: Any, slug: str) -> None:
    require(request, user, slug, edit=True)


def _save(
    request: Request, user: Any, slug: str, document: str, version: int, summary: str
) -> None:
    with request.app.state.db.write() as session:
        store.save_topic(
            session,
            document,
            actor=user.email,
            now=dt.datetime.now(dt.UTC),
            origin=summary,
            slug=slug,
            expected_version=version,
        )


def _version(form: Any) -> int:
    try:
        return int(str(form.get("version", "")))
    except ValueError:
        raise HTTPException(400, "This form is missing its version: reload the page.") from None


def _fields(form: Any) -> TopicFields:
    return TopicFields(
        **{f.name: str(form.get(f.name, ""))[:20_000] for f in dataclasses.fields(TopicFields)}
    )


@router.get("/topics/{slug}/settings", response_class=HTMLResponse)
def settings_page(request: Request, slug: str, user: PageUser) -> Response:
    return _page(request, user, slug, notice=request.query_params.get("saved") and "Saved.")


@router.post("/topics/{slug}/settings")
async def save_settings(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    _editor(request, user, slug)
    row, topic = _stored(request, slug)
    version = _version(form)
    fields = _fields(form)
    if form.get("document") is not None and form.get("as_file"):
        document = str(form.get("document", "")).replace("\r\n", "\n")
    else:
        document = with_fields(row.document, fields, fields_of(topic) if topic else None)
    try:
        _save(request, user, slug, document, version, "the topic page")
    except HarvesterError as exc:
        return _page(
            request, user, slug, fields=fields, document=document, error=exc.message, status=422
        )
    return RedirectResponse(f"/topics/{slug}/settings?saved=1", status_code=303)


@router.post("/topics/{slug}/settings/try")
async def try_query(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    require(request, user, slug)
    fields = _fields(form)
    today = dt.datetime.now(dt.UTC).date()
    trial = phrase_trial = None
    error = None
    try:
        since = dt.date.fromisoformat(str(form.get("since"))) if form.get("since") else None
        until = dt.date.fromisoformat(str(form.get("until"))) if form.get("until") else None
    except ValueError:
        since = until = None
        error = "A date of the window is not a date (YYYY-MM-DD)."
    if fields.pubmed_query.strip() and error is None:
        try:
            trial = try_pubmed_query(
                request.app.state.settings,
                fields.pubmed_query,
                today=today,
                since=since,
                until=until,
            )
        except HarvesterError as exc:
            error = f"PubMed did not answer the query: {exc.message}"
    from harvester.config.settings import MatchRules

    try:
        rules = MatchRules(phrases=lines(fields.phrases), exclude=lines(fields.exclude))
    except ValueError as exc:
        error = f"The phrases cannot be used: {exc}"
    else:
        with request.app.state.db.read() as session:
            page = candidate_page(session, CandidateQuery(topic=slug, statuses=(), limit=50))
        phrase_trial = try_phrases(rules, page.items)
    return _page(
        request, user, slug, fields=fields, error=error, trial=trial, phrase_trial=phrase_trial
    )


@router.post("/topics/{slug}/settings/feeds")
async def add_feed(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    _editor(request, user, slug)
    row, _topic = _stored(request, slug)
    url = str(form.get("url", "")).strip()[:2000]
    settings = request.app.state.settings
    try:
        check = check_feed(url, settings.feeds, now=dt.datetime.now(dt.UTC))
    except HarvesterError as exc:
        return _page(request, user, slug, error=f"That feed could not be added: {exc.message}")
    if not form.get("confirm"):
        return _page(request, user, slug, feed_check=check)
    name = str(form.get("name", "")).strip()[:200] or check.title or check.url
    feed: dict[str, Any] = {"name": name, "url": check.url}
    if form.get("keep") == "all":
        feed["all"] = True
    try:
        _save(
            request, user, slug, add_feeds(row.document, [feed]), _version(form), "the topic page"
        )
    except HarvesterError as exc:
        return _page(request, user, slug, error=exc.message, status=422)
    return RedirectResponse(f"/topics/{slug}/settings?saved=1#feeds", status_code=303)


@router.post("/topics/{slug}/settings/feeds/remove")
async def drop_feed(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    _editor(request, user, slug)
    row, _topic = _stored(request, slug)
    try:
        _save(
            request,
            user,
            slug,
            remove_feed(row.document, str(form.get("url", ""))),
            _version(form),
            "the topic page",
        )
    except HarvesterError as exc:
        return _page(request, user, slug, error=exc.message, status=422)
    return RedirectResponse(f"/topics/{slug}/settings?saved=1#feeds", status_code=303)


@router.post("/topics/{slug}/settings/news-search")
async def add_news_search(request: Request, slug: str, user: PageUser) -> Response:
    """A news search feed (Google News RSS) for the topic's phrases, added in one click."""
    form = await check_csrf(request)
    _editor(request, user, slug)
    row, topic = _stored(request, slug)
    phrases = [p.replace("*", "") for p in (topic.match.phrases if topic else [])][:10]
    if topic is None or not phrases:
        return _page(request, user, slug, error="Give the topic some phrases first.")
    query = " OR ".join(f'"{p.strip()}"' for p in phrases if p.strip())
    url = f"https://news.google.com/rss/search?q={quote_plus(query)}&hl=en-GB&gl=GB&ceid=GB:en"
    feed = {"name": f"News search: {topic.name}", "url": url, "all": True}
    try:
        _save(request, user, slug, add_feeds(row.document, [feed]), _version(form), "news search")
    except HarvesterError as exc:
        return _page(request, user, slug, error=exc.message, status=422)
    return RedirectResponse(f"/topics/{slug}/settings?saved=1#feeds", status_code=303)


@router.get("/topics/{slug}/settings/opml")
def export_opml(request: Request, slug: str, user: PageUser) -> Response:
    require(request, user, slug)
    _row, topic = _stored(request, slug)
    feeds = [FeedOutline(f.url, f.name) for f in (topic.feeds if topic else [])]
    body = write_opml(f"{topic.name if topic else slug}: feeds", feeds, now=dt.datetime.now(dt.UTC))
    return Response(
        body,
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}-feeds.opml"'},
    )


@router.post("/topics/{slug}/settings/opml")
async def import_opml(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    _editor(request, user, slug)
    row, topic = _stored(request, slug)
    upload = form.get("file")
    data = b""
    if isinstance(upload, StarletteUpload):
        try:
            data = await upload.read(MAX_OPML_BYTES + 1)
        finally:
            await upload.close()
    name = getattr(upload, "filename", None) or "the file"
    if not data:
        return _page(request, user, slug, error="Choose an OPML file to import.")
    if len(data) > MAX_OPML_BYTES:
        return _page(request, user, slug, error=f"{name} is larger than 2 MB.")
    try:
        outlines = read_opml(data, name)
    except HarvesterError as exc:
        return _page(request, user, slug, error=exc.message, status=422)
    has_phrases = bool(topic and topic.match.phrases)
    feeds = [{"name": o.name, "url": o.url, "all": not has_phrases} for o in outlines]
    try:
        _save(request, user, slug, add_feeds(row.document, feeds), _version(form), name)
    except HarvesterError as exc:
        return _page(request, user, slug, error=exc.message, status=422)
    return RedirectResponse(f"/topics/{slug}/settings?saved=1#feeds", status_code=303)


@router.post("/topics/new")
async def new_topic(request: Request, user: PageUser) -> Response:
    form = await check_csrf(request)
    if not user.is_admin:
        raise HTTPException(403, "Only an administrator can add a topic.")
    name = " ".join(str(form.get("name", "")).split())[:200]
    slug = str(form.get("slug", "")).strip().lower() or re.sub(
        r"[^a-z0-9]+", "-", name.lower()
    ).strip("-")
    if not name or not SLUG.match(slug):
        raise HTTPException(
            422, "Give the topic a name (and a short name of lower-case letters, digits, hyphens)."
        )
    with request.app.state.db.write() as session:
        if store.stored_topic(session, slug) is not None:
            raise HTTPException(409, f"There is a topic {slug!r} already.")
        store.save_topic(
            session,
            new_topic_document(slug, name),
            actor=user.email,
            now=dt.datetime.now(dt.UTC),
            slug=slug,
        )
    return RedirectResponse(f"/topics/{slug}/settings", status_code=303)


# -------------------------------------------------------------------------- harvest now


@router.post("/topics/{slug}/harvest")
async def harvest_now(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    _editor(request, user, slug)
    try:
        topic = request.app.state.topics.get(slug)
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None
    source = str(form.get("source") or "")
    try:
        job = harvest_jobs(request).start(
            topic, by=user.email, sources=[source] if source else None
        )
    except HarvesterError as exc:
        return _page(request, user, slug, error=exc.message, status=409)
    return RedirectResponse(f"/topics/{slug}/harvest/{job.id}", status_code=303)


@router.get("/topics/{slug}/harvest/{job_id}", response_class=HTMLResponse)
def harvest_progress(request: Request, slug: str, job_id: int, user: PageUser) -> Response:
    require(request, user, slug)
    job = harvest_jobs(request).get(job_id) if job_id < 2**31 else None
    if job is None or job.topic != slug:
        raise HTTPException(404, "That harvest is not known here (the service may have restarted).")
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "harvest_progress.html",
        {
            "user": user,
            "csrf": csrf_token(request),
            "topic": {"slug": slug, "name": job.topic_name},
            "job": job,
        },
    )
