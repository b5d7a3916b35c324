"""Items added by hand (with every field a citation needs, looked up from their DOI, PMID or
address where the service answers) and a card's citation corrected by a reviewer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from harvester.core.errors import HarvesterError
from harvester.core.manual import CitationInput, parse_authors, parse_year
from harvester.core.models import CandidateView, WorkKind
from harvester.usecases import review
from harvester.web.access import CsrfChecked, Reviewer, TopicFromPath, csrf_token
from harvester.web.deps import AppSettings, Db, RowId, Templates, Topics
from harvester.web.pages import CardForm, card_change, current_candidate, parse_date, topic_info

router = APIRouter(include_in_schema=False)


class CitationFields(BaseModel):
    """Every field a citation needs, as a person types them (authors as "Family, Given"
    lines)."""

    title: str = Field(default="", max_length=2000)
    authors: str = Field(default="", max_length=20_000)
    journal: str = Field(default="", max_length=500)
    year: str = Field(default="", max_length=10)
    volume: str = Field(default="", max_length=50)
    issue: str = Field(default="", max_length=50)
    pages: str = Field(default="", max_length=50)
    source_name: str = Field(default="", max_length=500)
    kind: str = ""


class AddForm(CitationFields):
    identifier: str = Field(default="", max_length=2000)
    date: str = ""
    summary: str = Field(default="", max_length=20_000)


class CitationForm(CardForm, CitationFields):
    pass


@router.post("/candidates/{candidate_id}/citation")
def edit_citation(
    request: Request,
    candidate_id: RowId,
    user: Reviewer,
    _csrf: CsrfChecked,
    form: Annotated[CitationForm, Form()],
    db: Db,
    topics: Topics,
    templates: Templates,
) -> Response:
    """Correct the citation fields of a card's work (recorded as an edit, version-checked)."""
    card = card_change(request, db, topics, templates, candidate_id, form.back, user)

    def change() -> CandidateView:
        citation = CitationInput(
            title=form.title,
            authors=parse_authors(form.authors),
            journal=form.journal,
            year=parse_year(form.year),
            volume=form.volume,
            issue=form.issue,
            pages=form.pages,
            source_name=form.source_name,
            kind=WorkKind(form.kind) if form.kind in ("article", "news") else None,
        )
        return review.edit_citation(
            db,
            candidate_id,
            citation,
            actor=user.email,
            seen_version=form.version,
            now=dt.datetime.now(dt.UTC),
        )

    return card.apply(change, lambda _after: "Saved the citation.")


@router.get("/topics/{slug}/add", response_class=HTMLResponse)
def add_form(
    request: Request, user: Reviewer, topic: TopicFromPath, templates: Templates
) -> Response:
    return templates.TemplateResponse(
        request,
        "add.html",
        {
            "user": user,
            "topic": topic_info(topic),
            "csrf": csrf_token(request),
            "error": None,
            "form": {},
        },
    )


@router.post("/topics/{slug}/add")
def add(
    request: Request,
    user: Reviewer,
    topic: TopicFromPath,
    _csrf: CsrfChecked,
    form: Annotated[AddForm, Form()],
    db: Db,
    templates: Templates,
    settings: AppSettings,
) -> Response:
    slug = topic.slug
    try:
        item = review.ManualItem(
            title=form.title,
            identifier=form.identifier,
            source_name=form.source_name,
            date=parse_date(form.date, "date"),
            summary=form.summary,
            kind=WorkKind(form.kind) if form.kind in ("article", "news") else None,
            authors=parse_authors(form.authors),
            journal=form.journal,
            year=parse_year(form.year),
            volume=form.volume,
            issue=form.issue,
            pages=form.pages,
        )
        lookup = review.identifier_lookup(settings) if form.identifier.strip() else None
        added = review.add_item(
            db, slug, item, actor=user.email, now=dt.datetime.now(dt.UTC), lookup=lookup
        )
        candidate_id = added.candidate_id
    except HarvesterError as exc:
        return templates.TemplateResponse(
            request,
            "add.html",
            {
                "user": user,
                "topic": topic_info(topic),
                "csrf": csrf_token(request),
                "error": exc.message,
                "form": form.model_dump(),
            },
            status_code=400,
        )
    current = current_candidate(db, candidate_id)
    if added.merged:
        request.session["flash"] = {
            "text": f"“{current.work.title}” was already stored: the item was merged into it "
            f"(status {current.status}), not added twice.",
            "error": False,
        }
        return RedirectResponse(
            f"/topics/{slug}?status={current.status}#card-{candidate_id}", status_code=303
        )
    request.session["flash"] = {
        "text": f"Added “{current.work.title}” (status {current.status}).",
        "error": False,
    }
    return RedirectResponse(
        f"/topics/{slug}?status={current.status}#card-{candidate_id}", status_code=303
    )
