"""What a request handler may ask for, as typed FastAPI dependencies.

``create_app`` puts one :class:`WebContext` on the app; handlers name what they need (``db: Db``,
``topics: Topics``, ``templates: Templates``) instead of reaching into ``request.app.state``.
Ids in paths are :data:`RowId`: an id no row can have (0, negative, wider than the database's
integer columns) is refused before any query, as a 404 (see :mod:`harvester.web.errors`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import Depends, Path, Query, Request
from fastapi.templating import Jinja2Templates

from harvester.config.settings import Settings
from harvester.config.topics import Topics as TopicSource
from harvester.store.db import Database

#: The largest id a row can have: PostgreSQL's ``integer`` (SQLite's are wider).
MAX_ID = 2**31 - 1

#: An id in a URL path: out of range is "no such thing" (404), never a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: An optional id in a query string (``?before=``): out of range is a 422.
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@dataclass(frozen=True, slots=True)
class WebContext:
    """Everything the handlers share: built once by ``create_app``."""

    db: Database
    settings: Settings
    topics: TopicSource
    templates: Jinja2Templates
    #: The service's health report (database, scheduler), when the app runs inside it.
    health: Callable[[], dict[str, Any]] | None = None


def context(request: Request) -> WebContext:
    return cast(WebContext, request.app.state.context)


def _db(request: Request) -> Database:
    return context(request).db


def _settings(request: Request) -> Settings:
    return context(request).settings


def _topics(request: Request) -> TopicSource:
    return context(request).topics


def _templates(request: Request) -> Jinja2Templates:
    return context(request).templates


Context = Annotated[WebContext, Depends(context)]
Db = Annotated[Database, Depends(_db)]
AppSettings = Annotated[Settings, Depends(_settings)]
Topics = Annotated[TopicSource, Depends(_topics)]
Templates = Annotated[Jinja2Templates, Depends(_templates)]
