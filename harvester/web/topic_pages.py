"""A topic's settings page: what is harvested (the PubMed query, tried before it is saved; the
phrases, tried on the queue; the feeds, checked when added, OPML in and out), when (in words),
who gets the digest and how the bulletin looks; its change history; and "Harvest now".

Every change is checked by the topic file rules and saved as the topic's document, with who
made it and when (:mod:`harvester.store.topics`). A change made from an older copy of the page
is refused, naming who changed the topic since. Anyone with a role in the topic sees the page;
its editors and the admins change it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Annotated, Any
from urllib.parse import quote_plus

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from harvester.config.settings import MatchRules, Topic, parse_topic
from harvester.config.topic_form import (
    TopicFields,
    add_feeds,
    fields_of,
    lines,
    new_topic_document,
    remove_feed,
    with_fields,
)
from harvester.core.errors import HarvesterError
from harvester.service.harvest_now import HarvestJobs
from harvester.sources import source_names
from harvester.sources.discover import FeedOutline, check_feed, read_opml, write_opml
from harvester.store import topics as store
from harvester.store.candidates import CandidateQuery, candidate_page
from harvester.store.db import Database
from harvester.store.runs import source_label
from harvester.store.users import UserView
from harvester.usecases.try_query import try_phrases, try_pubmed_query
from harvester.web.access import Admin, CsrfChecked, Reviewer, can_edit, csrf_token, require
from harvester.web.deps import AppSettings, Db, RowId, Templates, Topics, context

router = APIRouter(include_in_schema=False)

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_OPML_BYTES = 2_000_000
TEXT = 20_000


def harvest_jobs(request: Request) -> HarvestJobs:
    """The harvests this service started from the browser or the API (one registry an app)."""
    jobs = getattr(request.app.state, "harvest_jobs", None)
    if jobs is None:
        ctx = context(request)
        jobs = HarvestJobs(ctx.db, ctx.settings)
        request.app.state.harvest_jobs = jobs
    return jobs


Jobs = Annotated[HarvestJobs, Depends(harvest_jobs)]


class SettingsForm(BaseModel):
    version: int = Field(ge=1)
    name: str = Field(default="", max_length=TEXT)
    pubmed_query: str = Field(default="", max_length=TEXT)
    phrases: str = Field(default="", max_length=TEXT)
    exclude: str = Field(default="", max_length=TEXT)
    harvest: str = Field(default="", max_length=200)
    digest: str = Field(default="", max_length=200)
    recipients: str = Field(default="", max_length=TEXT)
    bulletin_title: str = Field(default="", max_length=500)
    bulletin_subtitle: str = Field(default="", max_length=500)
    footer: str = Field(default="", max_length=TEXT)
    contact: str = Field(default="", max_length=500)
    style: str = Field(default="house", max_length=40)
    document: str | None = Field(default=None, max_length=200_000)
    as_file: bool = False

    def fields(self) -> TopicFields:
        return TopicFields(
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(TopicFields)}
        )


class TryForm(SettingsForm):
    version: int = 0
    since: dt.date | None = None
    until: dt.date | None = None


class FeedForm(BaseModel):
    version: int = Field(ge=1)
    url: str = Field(default="", max_length=2000)
    name: str = Field(default="", max_length=200)
    keep: str = "phrases"
    confirm: bool = False


class VersionForm(BaseModel):
    version: int = Field(ge=1)
    url: str = Field(default="", max_length=2000)


class NewTopicForm(BaseModel):
    name: str = Field(max_length=200)
    slug: str = Field(default="", max_length=63)


class HarvestForm(BaseModel):
    source: str = Field(default="", max_length=40)


def _stored(db: Database, slug: str) -> tuple[store.StoredTopic, Topic | None]:
    with db.read() as session:
        row = store.stored_topic(session, slug)
    if row is None:
        raise HTTPException(404, f"There is no topic {slug!r}.")
    try:
        return row, parse_topic(row.document, f"topic {slug}", default_slug=slug)
    except HarvesterError:
        return row, None


@dataclasses.dataclass
class _Page:
    """What every answer of the settings page needs."""

    request: Request
    user: UserView
    db: Database
    templates: Jinja2Templates
    jobs: HarvestJobs

    def render(
        self,
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
        require(self.request, self.db, self.user, slug)
        row, topic = _stored(self.db, slug)
        with self.db.read() as session:
            history = store.topic_changes(session, slug, limit=20)
        return self.templates.TemplateResponse(
            self.request,
            "topic_settings.html",
            {
                "user": self.user,
                "csrf": csrf_token(self.request),
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
                "can_edit": can_edit(self.request, self.db, self.user, slug),
                "running": self.jobs.running_for(slug),
                "sources": [(name, source_label(name)) for name in source_names()],
            },
            status_code=status,
        )

    def save(self, slug: str, document: str, version: int, origin: str) -> None:
        """Check and store ``document`` (only an editor of the topic or an admin may)."""
        require(self.request, self.db, self.user, slug, edit=True)
        with self.db.write() as session:
            store.save_topic(
                session,
                document,
                actor=self.user.email,
                now=dt.datetime.now(dt.UTC),
                origin=origin,
                slug=slug,
                expected_version=version,
            )


def page(request: Request, user: Reviewer, db: Db, templates: Templates, jobs: Jobs) -> _Page:
    return _Page(request, user, db, templates, jobs)


SettingsPage = Annotated[_Page, Depends(page)]


def _saved(slug: str, anchor: str = "") -> Response:
    return RedirectResponse(f"/topics/{slug}/settings?saved=1{anchor}", status_code=303)


@router.get("/topics/{slug}/settings", response_class=HTMLResponse)
def settings_page(slug: str, ui: SettingsPage, saved: bool = False) -> Response:
    return ui.render(slug, notice="Saved." if saved else None)


@router.post("/topics/{slug}/settings")
def save_settings(
    slug: str, ui: SettingsPage, _csrf: CsrfChecked, form: Annotated[SettingsForm, Form()]
) -> Response:
    require(ui.request, ui.db, ui.user, slug, edit=True)
    row, topic = _stored(ui.db, slug)
    fields = form.fields()
    if form.as_file and form.document is not None:
        document = form.document.replace("\r\n", "\n")
    else:
        document = with_fields(row.document, fields, fields_of(topic) if topic else None)
    try:
        ui.save(slug, document, form.version, "the topic page")
    except HarvesterError as exc:
        return ui.render(slug, fields=fields, document=document, error=exc.message, status=422)
    return _saved(slug)


@router.post("/topics/{slug}/settings/try")
def try_query(
    slug: str,
    ui: SettingsPage,
    _csrf: CsrfChecked,
    settings: AppSettings,
    form: Annotated[TryForm, Form()],
) -> Response:
    require(ui.request, ui.db, ui.user, slug)
    fields = form.fields()
    trial = phrase_trial = None
    error = None
    if fields.pubmed_query.strip():
        try:
            trial = try_pubmed_query(
                settings,
                fields.pubmed_query,
                today=dt.datetime.now(dt.UTC).date(),
                since=form.since,
                until=form.until,
            )
        except HarvesterError as exc:
            error = f"PubMed did not answer the query: {exc.message}"
    try:
        rules = MatchRules(phrases=lines(fields.phrases), exclude=lines(fields.exclude))
    except ValueError as exc:
        error = f"The phrases cannot be used: {exc}"
    else:
        with ui.db.read() as session:
            recent = candidate_page(session, CandidateQuery(topic=slug, statuses=(), limit=50))
        phrase_trial = try_phrases(rules, recent.items)
    return ui.render(slug, fields=fields, error=error, trial=trial, phrase_trial=phrase_trial)


@router.post("/topics/{slug}/settings/feeds")
def add_feed(
    slug: str,
    ui: SettingsPage,
    _csrf: CsrfChecked,
    settings: AppSettings,
    form: Annotated[FeedForm, Form()],
) -> Response:
    require(ui.request, ui.db, ui.user, slug, edit=True)
    row, _topic = _stored(ui.db, slug)
    try:
        check = check_feed(form.url, settings.feeds, now=dt.datetime.now(dt.UTC))
    except HarvesterError as exc:
        return ui.render(slug, error=f"That feed could not be added: {exc.message}")
    if not form.confirm:
        return ui.render(slug, feed_check=check)
    feed: dict[str, Any] = {"name": form.name.strip() or check.title or check.url, "url": check.url}
    if form.keep == "all":
        feed["all"] = True
    try:
        ui.save(slug, add_feeds(row.document, [feed]), form.version, "the topic page")
    except HarvesterError as exc:
        return ui.render(slug, error=exc.message, status=422)
    return _saved(slug, "#feeds")


@router.post("/topics/{slug}/settings/feeds/remove")
def drop_feed(
    slug: str, ui: SettingsPage, _csrf: CsrfChecked, form: Annotated[VersionForm, Form()]
) -> Response:
    row, _topic = _stored(ui.db, slug)
    try:
        ui.save(slug, remove_feed(row.document, form.url), form.version, "the topic page")
    except HarvesterError as exc:
        return ui.render(slug, error=exc.message, status=422)
    return _saved(slug, "#feeds")


def news_search_url(phrases: list[str]) -> str:
    """A news search feed (Google News RSS, in English for the UK) for up to ten phrases."""
    words = [p.replace("*", "").strip() for p in phrases][:10]
    query = " OR ".join(f'"{w}"' for w in words if w)
    return f"https://news.google.com/rss/search?q={quote_plus(query)}&hl=en-GB&gl=GB&ceid=GB:en"


@router.post("/topics/{slug}/settings/news-search")
def add_news_search(
    slug: str, ui: SettingsPage, _csrf: CsrfChecked, form: Annotated[VersionForm, Form()]
) -> Response:
    """A news search feed for the topic's phrases, added in one click."""
    row, topic = _stored(ui.db, slug)
    if topic is None or not topic.match.phrases:
        return ui.render(slug, error="Give the topic some phrases first.")
    feed = {"name": f"News search: {topic.name}", "url": news_search_url(topic.match.phrases)}
    try:
        ui.save(slug, add_feeds(row.document, [{**feed, "all": True}]), form.version, "news search")
    except HarvesterError as exc:
        return ui.render(slug, error=exc.message, status=422)
    return _saved(slug, "#feeds")


@router.get("/topics/{slug}/settings/opml")
def export_opml(request: Request, slug: str, user: Reviewer, db: Db) -> Response:
    require(request, db, user, slug)
    _row, topic = _stored(db, slug)
    feeds = [FeedOutline(f.url, f.name) for f in (topic.feeds if topic else [])]
    title = f"{topic.name if topic else slug}: feeds"
    return Response(
        write_opml(title, feeds, now=dt.datetime.now(dt.UTC)),
        media_type="text/x-opml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}-feeds.opml"'},
    )


@router.post("/topics/{slug}/settings/opml")
async def import_opml(
    slug: str,
    ui: SettingsPage,
    _csrf: CsrfChecked,
    version: Annotated[int, Form(ge=1)],
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    require(ui.request, ui.db, ui.user, slug, edit=True)
    row, topic = _stored(ui.db, slug)
    data = b""
    name = "the file"
    if file is not None:
        name = file.filename or name
        try:
            data = await file.read(MAX_OPML_BYTES + 1)
        finally:
            await file.close()
    if not data:
        return ui.render(slug, error="Choose an OPML file to import.")
    if len(data) > MAX_OPML_BYTES:
        return ui.render(slug, error=f"{name} is larger than 2 MB.")
    try:
        outlines = read_opml(data, name)
    except HarvesterError as exc:
        return ui.render(slug, error=exc.message, status=422)
    keep_all = not (topic and topic.match.phrases)
    feeds = [{"name": o.name, "url": o.url, "all": keep_all} for o in outlines]
    try:
        ui.save(slug, add_feeds(row.document, feeds), version, name)
    except HarvesterError as exc:
        return ui.render(slug, error=exc.message, status=422)
    return _saved(slug, "#feeds")


@router.post("/topics/new")
def new_topic(
    user: Admin, db: Db, _csrf: CsrfChecked, form: Annotated[NewTopicForm, Form()]
) -> Response:
    name = " ".join(form.name.split())
    slug = form.slug.strip().lower() or re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not name or not SLUG.match(slug):
        raise HTTPException(
            422, "Give the topic a name (and a short name of lower-case letters, digits, hyphens)."
        )
    with db.write() as session:
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
def harvest_now(
    slug: str,
    ui: SettingsPage,
    _csrf: CsrfChecked,
    topics: Topics,
    form: Annotated[HarvestForm, Form()],
) -> Response:
    require(ui.request, ui.db, ui.user, slug, edit=True)
    topic = topics.get(slug)
    try:
        job = ui.jobs.start(topic, by=ui.user.email, sources=[form.source] if form.source else None)
    except HarvesterError as exc:
        return ui.render(slug, error=exc.message, status=409)
    return RedirectResponse(f"/topics/{slug}/harvest/{job.id}", status_code=303)


@router.get("/topics/{slug}/harvest/{job_id}", response_class=HTMLResponse)
def harvest_progress(slug: str, job_id: RowId, ui: SettingsPage) -> Response:
    require(ui.request, ui.db, ui.user, slug)
    job = ui.jobs.get(job_id)
    if job is None or job.topic != slug:
        raise HTTPException(404, "That harvest is not known here (the service may have restarted).")
    return ui.templates.TemplateResponse(
        ui.request,
        "harvest_progress.html",
        {
            "user": ui.user,
            "csrf": csrf_token(ui.request),
            "topic": {"slug": slug, "name": job.topic_name},
            "job": job,
        },
    )
