"""The review queue pages: a topic's queue, decisions on a card, bulk actions, add by hand.

Every action is a plain form POST that works without JavaScript (the server redirects back to
the queue); the page's script sends the same forms with ``X-Requested-With: fetch`` and gets the
card's new HTML back to swap in place. Decisions go through :mod:`harvester.usecases.review`, which asks
:mod:`harvester.core.queue_rules` for the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from harvester.config.settings import Topic
from harvester.core.errors import ConflictError, HarvesterError, NotFoundError, QueueError
from harvester.core.models import CandidateStatus, CandidateView, WorkKind
from harvester.store.candidates import (
    KINDS,
    SORTS,
    CandidateQuery,
    candidate_page,
    get_candidate,
    status_counts,
    topic_sources,
)
from harvester.usecases import review
from harvester.web.auth import PageUser, check_csrf, csrf_token

router = APIRouter(include_in_schema=False)

ACTIONS = {
    "accept": CandidateStatus.ACCEPTED,
    "reject": CandidateStatus.REJECTED,
    "defer": CandidateStatus.DEFERRED,
    "new": CandidateStatus.NEW,
}
PAGE_SIZE = 25


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


def _topic(request: Request, slug: str) -> TopicInfo:
    try:
        return topic_info(request.app.state.topics.get(slug))
    except NotFoundError as exc:
        raise HTTPException(404, exc.message) from None


def _fetching(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def _back(value: Any, slug: str) -> str:
    text = str(value or "")
    prefix = f"/topics/{slug}"
    return text if text.startswith(prefix) and "//" not in text else prefix


def _date(value: str | None, what: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise QueueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def query_from_params(slug: str, params: Any, *, limit: int = PAGE_SIZE) -> CandidateQuery:
    """A :class:`CandidateQuery` from a page's or the API's query parameters."""
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
        found_from=_date(params.get("from"), "found from"),
        found_to=_date(params.get("to"), "found to"),
        text=(params.get("q") or "").strip()[:200] or None,
        sort=params.get("sort") or "found",
        cursor=params.get("cursor") or None,
        limit=limit,
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request, user: PageUser) -> Response:
    topics = request.app.state.topics.all()
    if len(topics) == 1:
        return RedirectResponse(f"/topics/{topics[0].slug}", status_code=303)
    with request.app.state.db.read() as session:
        counts = {t.slug: status_counts(session, t.slug) for t in topics}
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "topics.html",
        {"user": user, "topics": topics, "counts": counts, "csrf": csrf_token(request)},
    )


@router.get("/topics/{slug}", response_class=HTMLResponse)
def queue_page(request: Request, slug: str, user: PageUser) -> Response:
    info = _topic(request, slug)
    params = request.query_params
    error = None
    try:
        query = query_from_params(slug, params)
    except QueueError as exc:
        error = exc.message
        query = CandidateQuery(topic=slug, statuses=(CandidateStatus.NEW,), limit=PAGE_SIZE)
    with request.app.state.db.read() as session:
        try:
            page = candidate_page(session, query)
        except QueueError as exc:
            error = exc.message
            page = candidate_page(session, CandidateQuery(topic=slug, statuses=query.statuses))
        counts = status_counts(session, slug)
        sources = topic_sources(session, slug)
    filters = {
        k: params.get(k, "") for k in ("status", "source", "kind", "from", "to", "q", "sort")
    }
    filters["status"] = filters["status"] or "new"
    filters["sort"] = filters["sort"] or "found"
    keep = {k: v for k, v in filters.items() if v}
    next_url = None
    if page.next_cursor:
        next_url = f"/topics/{slug}?" + urlencode({**keep, "cursor": page.next_cursor})
    here = f"/topics/{slug}?" + urlencode(
        {**keep, **({"cursor": query.cursor} if query.cursor else {})}
    )
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "queue.html",
        {
            "user": user,
            "topic": info,
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
            "flash": request.session.pop("flash", None),
            "status_links": {
                s: f"/topics/{slug}?" + urlencode({**keep, "status": s}) for s in [*counts, "all"]
            },
        },
    )


def _card_response(
    request: Request,
    candidate: CandidateView,
    *,
    back: str,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    info = _topic(request, candidate.topic)
    if _fetching(request):
        return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "_card.html",
            {
                "c": candidate,
                "topic": info,
                "csrf": csrf_token(request),
                "back": back,
                "message": message,
                "error": error,
            },
            status_code=status_code,
        )
    request.session["flash"] = {"text": error or message or "", "error": bool(error)}
    return RedirectResponse(f"{back}#card-{candidate.id}", status_code=303)


def _current(request: Request, candidate_id: int) -> CandidateView:
    with request.app.state.db.read() as session:
        try:
            return get_candidate(session, candidate_id)
        except NotFoundError as exc:
            raise HTTPException(404, exc.message) from None


def _version(form: Any) -> int:
    try:
        return int(str(form.get("version", "")))
    except ValueError:
        raise HTTPException(400, "the form has no candidate version; reload the page") from None


def _change_card(
    request: Request,
    current: CandidateView,
    back: str,
    change: Callable[[], CandidateView],
    message: Callable[[CandidateView], str],
) -> Response:
    """The card after ``change``, with ``message``; on a conflict the card as it now is (409),
    on a move the rules refuse the card as it was (400)."""
    try:
        after = change()
    except ConflictError as exc:
        now = _current(request, current.id)
        return _card_response(request, now, back=back, error=exc.message, status_code=409)
    except QueueError as exc:
        return _card_response(request, current, back=back, error=exc.message, status_code=400)
    return _card_response(request, after, back=back, message=message(after))


@router.get("/candidates/{candidate_id}", response_class=HTMLResponse)
def card_page(request: Request, candidate_id: int, user: PageUser) -> Response:
    """One card on its own page (where the digest's "Review" links lead)."""
    candidate = _current(request, candidate_id)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "card.html",
        {
            "user": user,
            "c": candidate,
            "topic": _topic(request, candidate.topic),
            "csrf": csrf_token(request),
            "back": f"/topics/{candidate.topic}",
            "message": None,
            "error": None,
        },
    )


@router.post("/candidates/{candidate_id}/decide")
async def decide(request: Request, candidate_id: int, user: PageUser) -> Response:
    form = await check_csrf(request)
    current = _current(request, candidate_id)
    info = _topic(request, current.topic)
    back = _back(form.get("back"), current.topic)
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        raise HTTPException(400, f"unknown action {action!r}")
    reason = str(form.get("reason_text") or "").strip() or str(form.get("reason") or "")
    return _change_card(
        request,
        current,
        back,
        lambda: review.decide(
            request.app.state.db,
            candidate_id,
            ACTIONS[action],
            actor=user.email,
            seen_version=_version(form),
            now=dt.datetime.now(dt.UTC),
            note=str(form.get("note") or "") or None,
            section=(str(form.get("section") or "") or None) if action == "accept" else None,
            reason=(reason or None) if action == "reject" else None,
            sections=info.sections,
        ),
        lambda after: f"Marked {after.status}.",
    )


@router.post("/candidates/{candidate_id}/undo")
async def undo(request: Request, candidate_id: int, user: PageUser) -> Response:
    form = await check_csrf(request)
    current = _current(request, candidate_id)
    back = _back(form.get("back"), current.topic)
    return _change_card(
        request,
        current,
        back,
        lambda: review.undo(
            request.app.state.db,
            candidate_id,
            actor=user.email,
            seen_version=_version(form),
            now=dt.datetime.now(dt.UTC),
        ),
        lambda after: f"Undone: back to {after.status}.",
    )


@router.post("/candidates/{candidate_id}/edit")
async def edit(request: Request, candidate_id: int, user: PageUser) -> Response:
    form = await check_csrf(request)
    current = _current(request, candidate_id)
    back = _back(form.get("back"), current.topic)
    field = str(form.get("field", ""))
    if field not in ("note", "summary"):
        raise HTTPException(400, "edit the note or the summary")
    text = str(form.get(field) or "")
    return _change_card(
        request,
        current,
        back,
        lambda: review.edit(
            request.app.state.db,
            candidate_id,
            actor=user.email,
            seen_version=_version(form),
            now=dt.datetime.now(dt.UTC),
            note=text if field == "note" else None,
            summary=text if field == "summary" else None,
            set_note=field == "note",
            set_summary=field == "summary",
        ),
        lambda _after: f"Saved the {field}.",
    )


@router.post("/topics/{slug}/bulk")
async def bulk(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    info = _topic(request, slug)
    back = _back(form.get("back"), slug)
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        raise HTTPException(400, f"unknown action {action!r}")
    done, refused = 0, []
    now = dt.datetime.now(dt.UTC)
    for value in form.getlist("ids"):
        try:
            candidate_id, version = (int(part) for part in str(value).split(":", 1))
        except ValueError:
            raise HTTPException(400, f"bad selection {value!r}") from None
        try:
            review.decide(
                request.app.state.db,
                candidate_id,
                ACTIONS[action],
                actor=user.email,
                seen_version=version,
                now=now,
                sections=info.sections,
            )
            done += 1
        except (QueueError, NotFoundError) as exc:
            refused.append(exc.message)
    if not done and not refused:
        text = "Nothing selected: tick cards (or press x) first."
    else:
        text = f"{done} marked {ACTIONS[action].value}."
        if refused:
            text += f" {len(refused)} not changed: " + " ".join(refused[:3])
    request.session["flash"] = {"text": text, "error": bool(refused) or not done}
    return RedirectResponse(back, status_code=303)


@router.get("/topics/{slug}/add", response_class=HTMLResponse)
def add_form(request: Request, slug: str, user: PageUser) -> Response:
    info = _topic(request, slug)
    return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "add.html",
        {"user": user, "topic": info, "csrf": csrf_token(request), "error": None, "form": {}},
    )


@router.post("/topics/{slug}/add")
async def add(request: Request, slug: str, user: PageUser) -> Response:
    form = await check_csrf(request)
    info = _topic(request, slug)
    values = {
        k: str(form.get(k) or "")
        for k in ("title", "identifier", "source_name", "date", "summary", "kind")
    }
    try:
        item = review.ManualItem(
            title=values["title"],
            identifier=values["identifier"],
            source_name=values["source_name"],
            date=_date(values["date"], "date"),
            summary=values["summary"],
            kind=WorkKind(values["kind"])
            if values["kind"] in ("article", "news")
            else WorkKind.NEWS,
        )
        candidate_id = review.add_by_hand(
            request.app.state.db, slug, item, actor=user.email, now=dt.datetime.now(dt.UTC)
        )
    except HarvesterError as exc:
        return request.app.state.templates.TemplateResponse(  # type: ignore[no-any-return]
            request,
            "add.html",
            {
                "user": user,
                "topic": info,
                "csrf": csrf_token(request),
                "error": exc.message,
                "form": values,
            },
            status_code=400,
        )
    current = _current(request, candidate_id)
    request.session["flash"] = {
        "text": f"Added “{current.work.title}” (status {current.status}).",
        "error": False,
    }
    return RedirectResponse(
        f"/topics/{slug}?status={current.status}#card-{candidate_id}", status_code=303
    )
