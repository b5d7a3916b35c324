"""The review queue pages: a topic's queue, decisions on a card, bulk actions, add by hand.

Every action is a plain form POST that works without JavaScript (the server redirects back to
the queue); the page's script sends the same forms with ``X-Requested-With: fetch`` and gets the
card's new HTML back to swap in place. Decisions go through :mod:`harvester.usecases.review`,
which asks :mod:`harvester.core.queue_rules` for the rules. Forms are read into the models below;
an unknown candidate or topic is a :class:`NotFoundError`, which :mod:`harvester.web.errors`
answers with a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from harvester.config.settings import Topic
from harvester.config.topics import Topics as TopicSource
from harvester.core.errors import ConflictError, NotFoundError, QueueError
from harvester.core.models import CandidateStatus, CandidateView
from harvester.core.ranking import MIN_ACCEPTED, MIN_REJECTED
from harvester.store import ranking as ranking_store
from harvester.store.candidates import (
    KINDS,
    SORTS,
    CandidateQuery,
    candidate_page,
    get_candidate,
    status_counts,
    topic_sources,
)
from harvester.store.db import Database
from harvester.store.notices import notices_for
from harvester.store.users import UserView
from harvester.usecases import review
from harvester.web.access import (
    CsrfChecked,
    Reviewer,
    TopicFromPath,
    csrf_token,
    require,
    visible_slugs,
)
from harvester.web.deps import MAX_ID, Db, RowId, Templates, Topics

router = APIRouter(include_in_schema=False)

ACTIONS = {
    "accept": CandidateStatus.ACCEPTED,
    "reject": CandidateStatus.REJECTED,
    "defer": CandidateStatus.DEFERRED,
    "new": CandidateStatus.NEW,
}
PAGE_SIZE = 25
Version = Annotated[int, Field(ge=0, le=MAX_ID)]


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """What a card needs of its topic."""

    slug: str
    name: str
    sections: tuple[str, ...]
    reasons: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]


def topic_info(topic: Topic) -> TopicInfo:
    include = list(topic.match.phrases)
    exclude = list(topic.match.exclude)
    for feed in topic.feeds:
        include += [p for p in feed.phrases or [] if p not in include]
        exclude += [p for p in feed.exclude or [] if p not in exclude]
    return TopicInfo(
        slug=topic.slug,
        name=topic.name,
        sections=tuple(section.title for section in topic.bulletin.sections),
        reasons=tuple(topic.review.reasons),
        include=tuple(include),
        exclude=tuple(exclude),
    )


# ------------------------------------------------------------------------------------ forms


class CardForm(BaseModel):
    """What every card form carries: the version the reviewer saw and the page to go back to."""

    version: Version
    back: str = ""


class DecideForm(CardForm):
    action: Literal["accept", "reject", "defer", "new"]
    note: str = ""
    section: str = ""
    reason: str = ""
    reason_text: str = ""


class EditForm(CardForm):
    field: Literal["note", "summary"]
    note: str = ""
    summary: str = ""


class BulkForm(BaseModel):
    action: Literal["accept", "reject", "defer", "new"]
    back: str = ""
    ids: list[str] = []


def _fetching(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def _back(value: Any, slug: str) -> str:
    text = str(value or "")
    prefix = f"/topics/{slug}"
    return text if text.startswith(prefix) and "//" not in text else prefix


def parse_date(value: str | None, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QueueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def query_from_params(
    slug: str, params: Any, *, limit: int = PAGE_SIZE, default_sort: str = "found"
) -> CandidateQuery:
    """A :class:`CandidateQuery` from a page's or the API's query parameters (``default_sort``
    when they name no sort: by score once the topic's ranking has a learned model)."""
    status = params.get("status") or "new"
    statuses: tuple[CandidateStatus, ...] = ()
    if status != "all":
        try:
            statuses = (CandidateStatus(status),)
        except ValueError:
            raise QueueError(f"unknown status {status!r}") from None
    return CandidateQuery(
        topic=slug,
        statuses=statuses,
        source=params.get("source") or None,
        kind=params.get("kind") or None,
        found_from=parse_date(params.get("from"), "found from"),
        found_to=parse_date(params.get("to"), "found to"),
        text=(params.get("q") or "").strip()[:200] or None,
        sort=params.get("sort") or default_sort,
        cursor=params.get("cursor") or None,
        limit=limit,
    )


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    user: Reviewer,
    db: Db,
    topics: Topics,
    templates: Templates,
    list: bool = False,  # noqa: A002 - the query's name: the list even of one topic
) -> Response:
    shown = set(visible_slugs(request, db, user, topics.slugs()))
    every = [topic for topic in topics.all() if topic.slug in shown]
    if len(every) == 1 and not list:
        return RedirectResponse(f"/topics/{every[0].slug}", status_code=303)
    with db.read() as session:
        counts = {t.slug: status_counts(session, t.slug) for t in every}
    return templates.TemplateResponse(
        request,
        "topics.html",
        {
            "user": user,
            "topics": every,
            "counts": counts,
            "csrf": csrf_token(request),
        },
    )


@router.get("/topics/{slug}", response_class=HTMLResponse)
def queue_page(
    request: Request, user: Reviewer, topic: TopicFromPath, db: Db, templates: Templates
) -> Response:
    info = topic_info(topic)
    slug = topic.slug
    params = request.query_params
    error = None
    with db.read() as session:
        model = ranking_store.model_info(session, slug)
    default_sort = "score" if model is not None else "found"
    try:
        query = query_from_params(slug, params, default_sort=default_sort)
    except QueueError as exc:
        error = exc.message
        query = CandidateQuery(topic=slug, statuses=(CandidateStatus.NEW,), limit=PAGE_SIZE)
    with db.read() as session:
        try:
            page = candidate_page(session, query)
        except QueueError as exc:
            error = exc.message
            page = candidate_page(session, CandidateQuery(topic=slug, statuses=query.statuses))
        counts = status_counts(session, slug)
        sources = topic_sources(session, slug)
        notices = notices_for(session, [c.work.id for c in page.items])
    filters = {
        k: params.get(k, "") for k in ("status", "source", "kind", "from", "to", "q", "sort")
    }
    filters["status"] = filters["status"] or "new"
    filters["sort"] = filters["sort"] or default_sort
    keep = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.next_cursor:
        next_url = f"/topics/{slug}?" + urlencode({**keep, "cursor": page.next_cursor})
    here = f"/topics/{slug}?" + urlencode(
        {**keep, **({"cursor": query.cursor} if query.cursor else {})}
    )
    return templates.TemplateResponse(
        request,
        "queue.html",
        {
            "user": user,
            "topic": info,
            "model": model,
            "ranking_needs": (MIN_ACCEPTED, MIN_REJECTED),
            "page": page,
            "counts": counts,
            "sources": sources,
            "kinds": KINDS,
            "sorts": SORTS,
            "statuses": [s.value for s in CandidateStatus],
            "filters": filters,
            "next_url": next_url,
            "first_url": f"/topics/{slug}?" + urlencode(keep) if query.cursor else None,
            "here": here,
            "csrf": csrf_token(request),
            "error": error,
            "notices": notices,
            "flash": request.session.pop("flash", None),
            "status_links": {
                s: f"/topics/{slug}?" + urlencode({**keep, "status": s}) for s in [*counts, "all"]
            },
        },
    )


@dataclass(frozen=True, slots=True)
class CardChange:
    """A change to one card: the request it came in, the card as the reviewer saw it, and the
    page to go back to."""

    request: Request
    db: Database
    templates: Jinja2Templates
    topic: TopicInfo
    current: CandidateView
    back: str

    def respond(
        self,
        candidate: CandidateView,
        *,
        message: str | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        request = self.request
        if _fetching(request):
            with self.db.read() as session:
                notices = notices_for(session, [candidate.work.id])
            return self.templates.TemplateResponse(
                request,
                "_card.html",
                {
                    "c": candidate,
                    "notices": notices,
                    "topic": self.topic,
                    "csrf": csrf_token(request),
                    "back": self.back,
                    "message": message,
                    "error": error,
                },
                status_code=status_code,
            )
        request.session["flash"] = {"text": error or message or "", "error": bool(error)}
        return RedirectResponse(f"{self.back}#card-{candidate.id}", status_code=303)

    def apply(
        self, change: Callable[[], CandidateView], message: Callable[[CandidateView], str]
    ) -> Response:
        """The card after ``change``, with ``message``; on a conflict the card as it now is
        (409), when the rules refuse the move the card as it was (400)."""
        try:
            after = change()
        except ConflictError as exc:
            now = current_candidate(self.db, self.current.id)
            return self.respond(now, error=exc.message, status_code=409)
        except QueueError as exc:
            return self.respond(self.current, error=exc.message, status_code=400)
        return self.respond(after, message=message(after))


def current_candidate(db: Database, candidate_id: int) -> CandidateView:
    with db.read() as session:
        return get_candidate(session, candidate_id)


def card_change(
    request: Request,
    db: Database,
    topics: TopicSource,
    templates: Jinja2Templates,
    candidate_id: int,
    back: str,
    user: UserView,
) -> CardChange:
    current = current_candidate(db, candidate_id)
    require(request, db, user, current.topic)
    info = topic_info(topics.get(current.topic))
    return CardChange(request, db, templates, info, current, _back(back, current.topic))


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
def card_page(
    request: Request,
    candidate_id: RowId,
    user: Reviewer,
    db: Db,
    topics: Topics,
    templates: Templates,
) -> Response:
    """One card on its own page (where the digest's "Review" links lead)."""
    candidate = current_candidate(db, candidate_id)
    require(request, db, user, candidate.topic)
    with db.read() as session:
        notices = notices_for(session, [candidate.work.id])
    return templates.TemplateResponse(
        request,
        "card.html",
        {
            "user": user,
            "c": candidate,
            "notices": notices,
            "topic": topic_info(topics.get(candidate.topic)),
            "csrf": csrf_token(request),
            "back": f"/topics/{candidate.topic}",
            "message": None,
            "error": None,
        },
    )


@router.post("/candidates/{candidate_id}/decide")
def decide(
    request: Request,
    candidate_id: RowId,
    user: Reviewer,
    _csrf: CsrfChecked,
    form: Annotated[DecideForm, Form()],
    db: Db,
    topics: Topics,
    templates: Templates,
) -> Response:
    card = card_change(request, db, topics, templates, candidate_id, form.back, user)
    reason = form.reason_text.strip() or form.reason
    return card.apply(
        lambda: review.decide(
            db,
            candidate_id,
            ACTIONS[form.action],
            actor=user.email,
            seen_version=form.version,
            now=dt.datetime.now(dt.UTC),
            note=form.note or None,
            section=(form.section or None) if form.action == "accept" else None,
            reason=(reason or None) if form.action == "reject" else None,
            sections=card.topic.sections,
        ),
        lambda after: f"Marked {after.status}.",
    )


@router.post("/candidates/{candidate_id}/undo")
def undo(
    request: Request,
    candidate_id: RowId,
    user: Reviewer,
    _csrf: CsrfChecked,
    form: Annotated[CardForm, Form()],
    db: Db,
    topics: Topics,
    templates: Templates,
) -> Response:
    card = card_change(request, db, topics, templates, candidate_id, form.back, user)
    return card.apply(
        lambda: review.undo(
            db,
            candidate_id,
            actor=user.email,
            seen_version=form.version,
            now=dt.datetime.now(dt.UTC),
        ),
        lambda after: f"Undone: back to {after.status}.",
    )


def edit_card(
    db: Database, candidate_id: int, form: EditForm, actor: str
) -> Callable[[], CandidateView]:
    """The one write path of a note or bulletin summary edit (from a card or the bulletin
    page): a decision row, and the version check."""
    text = form.note if form.field == "note" else form.summary
    return lambda: review.edit(
        db,
        candidate_id,
        actor=actor,
        seen_version=form.version,
        now=dt.datetime.now(dt.UTC),
        note=text if form.field == "note" else None,
        summary=text if form.field == "summary" else None,
        set_note=form.field == "note",
        set_summary=form.field == "summary",
    )


@router.post("/candidates/{candidate_id}/edit")
def edit(
    request: Request,
    candidate_id: RowId,
    user: Reviewer,
    _csrf: CsrfChecked,
    form: Annotated[EditForm, Form()],
    db: Db,
    topics: Topics,
    templates: Templates,
) -> Response:
    card = card_change(request, db, topics, templates, candidate_id, form.back, user)
    return card.apply(
        edit_card(db, candidate_id, form, user.email), lambda _after: f"Saved the {form.field}."
    )


def _selection(value: str) -> tuple[int, int] | None:
    """``"id:version"`` of a selected card, or None when it is not that."""
    try:
        candidate_id, version = (int(part) for part in value.split(":", 1))
    except ValueError:
        return None
    if not (1 <= candidate_id <= MAX_ID and 0 <= version <= MAX_ID):
        return None
    return candidate_id, version


@router.post("/topics/{slug}/bulk")
def bulk(
    request: Request,
    user: Reviewer,
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[BulkForm, Form()],
    db: Db,
) -> Response:
    info = topic_info(topic)
    back = _back(form.back, topic.slug)
    done, refused = 0, []
    now = dt.datetime.now(dt.UTC)
    for value in form.ids:
        selected = _selection(value)
        if selected is None:
            refused.append("A selected card was not understood; reload the page.")
            continue
        try:
            review.decide(
                db,
                selected[0],
                ACTIONS[form.action],
                actor=user.email,
                seen_version=selected[1],
                now=now,
                sections=info.sections,
            )
            done += 1
        except (QueueError, NotFoundError) as exc:
            refused.append(exc.message)
    if not done and not refused:
        text = "Nothing selected: tick cards (or press x) first."
    else:
        text = f"{done} marked {ACTIONS[form.action].value}."
        if refused:
            text += f" {len(refused)} not changed: " + " ".join(refused[:3])
    request.session["flash"] = {"text": text, "error": bool(refused) or not done}
    return RedirectResponse(back, status_code=303)
