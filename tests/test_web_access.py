"""One set of access rules for pages and API, walked over every route of the app for every
role; ids no row can have are 404 (paths) or 422 (query strings and forms), never a 500."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount
from websupport import ADMIN, REVIEWER, TOPIC, build, live_server, seed

from harvester.store import users
from harvester.store.db import Database

PUBLIC, REVIEWER_RULE, EDITOR_RULE, ADMIN_RULE = "public", "reviewer", "editor", "admin"

#: Every route of the app and who may use it. A route missing here fails the walk below.
RULES: dict[tuple[str, str], str] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("MOUNT", "/static"): PUBLIC,
    ("GET", "/api/openapi.json"): REVIEWER_RULE,
    ("GET", "/account/password"): REVIEWER_RULE,
    ("POST", "/account/password"): REVIEWER_RULE,
    ("GET", "/"): REVIEWER_RULE,
    ("GET", "/topics/{slug}"): REVIEWER_RULE,
    ("POST", "/candidates/{candidate_id}/decide"): REVIEWER_RULE,
    ("POST", "/candidates/{candidate_id}/undo"): REVIEWER_RULE,
    ("POST", "/candidates/{candidate_id}/edit"): REVIEWER_RULE,
    ("POST", "/candidates/{candidate_id}/citation"): REVIEWER_RULE,
    ("GET", "/candidates/{candidate_id}"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/period"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulk"): REVIEWER_RULE,
    ("GET", "/topics/{slug}/add"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/add"): REVIEWER_RULE,
    ("GET", "/topics/{slug}/bulletin"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/draft"): REVIEWER_RULE,
    ("GET", "/topics/{slug}/bulletin/preview"): REVIEWER_RULE,
    ("GET", "/topics/{slug}/bulletin/download/{fmt}"): REVIEWER_RULE,
    ("GET", "/bulletins/{bulletin_id}/download/{fmt}"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/move"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/remove"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/restore"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/summary"): REVIEWER_RULE,
    ("GET", "/topics/{slug}/bulletin/publish"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/bulletin/publish"): REVIEWER_RULE,
    ("GET", "/runs"): ADMIN_RULE,
    ("GET", "/api/topics/{slug}/candidates"): REVIEWER_RULE,
    ("GET", "/api/candidates/{candidate_id}"): REVIEWER_RULE,
    ("POST", "/api/candidates/{candidate_id}/decisions"): REVIEWER_RULE,
    ("GET", "/api/runs"): ADMIN_RULE,
    # topics, harvests and people (the walking reviewer reviews the topic, and edits none)
    ("GET", "/topics/{slug}/settings"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/settings"): EDITOR_RULE,
    ("POST", "/topics/{slug}/settings/try"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/settings/feeds"): EDITOR_RULE,
    ("POST", "/topics/{slug}/settings/feeds/remove"): EDITOR_RULE,
    ("POST", "/topics/{slug}/settings/news-search"): EDITOR_RULE,
    ("GET", "/topics/{slug}/settings/opml"): REVIEWER_RULE,
    ("POST", "/topics/{slug}/settings/opml"): EDITOR_RULE,
    ("POST", "/topics/new"): ADMIN_RULE,
    ("POST", "/topics/{slug}/harvest"): EDITOR_RULE,
    ("GET", "/topics/{slug}/harvest/{job_id}"): REVIEWER_RULE,
    ("GET", "/people"): ADMIN_RULE,
    ("POST", "/people"): ADMIN_RULE,
    ("POST", "/people/{account_id}"): ADMIN_RULE,
    ("GET", "/reset/{token}"): PUBLIC,
    ("POST", "/reset/{token}"): PUBLIC,
    ("GET", "/setup/{token}"): PUBLIC,
    ("POST", "/setup/{token}"): PUBLIC,
    ("GET", "/api/topics"): REVIEWER_RULE,
    ("GET", "/api/topics/{slug}"): REVIEWER_RULE,
    ("PUT", "/api/topics/{slug}"): EDITOR_RULE,
    ("DELETE", "/api/topics/{slug}"): ADMIN_RULE,
    ("GET", "/api/topics/{slug}/changes"): REVIEWER_RULE,
    ("POST", "/api/topics/{slug}/harvest"): EDITOR_RULE,
    ("GET", "/api/harvests/{job_id}"): REVIEWER_RULE,
    ("GET", "/api/runs/{run_id}"): REVIEWER_RULE,
    ("GET", "/api/users"): ADMIN_RULE,
    ("PUT", "/api/users/{user_id}/roles"): ADMIN_RULE,
}

#: (name, account, how it authenticates)
ROLES = [
    ("anonymous", None, "none"),
    ("reviewer", REVIEWER, "session"),
    ("admin", ADMIN, "session"),
    ("reviewer token", REVIEWER, "token"),
    ("admin token", ADMIN, "token"),
]


class Client(requests.Session):
    """A requests session against one base URL that never follows redirects."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.trust_env = False  # no proxy from the environment: loopback only

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        kwargs.setdefault("timeout", 30)
        return super().request(method, f"{self.base_url}{url!s}", *args, **kwargs)


PARAMS = {
    "slug": TOPIC,
    "candidate_id": "1",
    "bulletin_id": "1",
    "fmt": "html",
    "job_id": "1",
    "run_id": "1",
    "account_id": "1",
    "user_id": "1",
    "token": "not-a-token",
}


def flat_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every route with its full path; routers included in the app are walked into."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI keeps an included router as one entry
            yield from flat_routes(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + route.path, route


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    for path, route in flat_routes(app.routes):
        if isinstance(route, Mount):
            yield "MOUNT", path
        elif isinstance(route, APIRoute):
            for method in sorted(route.methods - {"HEAD"}):
                yield method, path
        else:
            raise AssertionError(f"a route of an unexpected kind: {route!r}")


def expected(rule: str, how: str, is_admin: bool, method: str, path: str) -> str:
    """``allowed``, ``login`` (no account: the sign-in page, or 401 from the API) or
    ``forbidden`` (403), by the rules of harvester.web.access."""
    if rule == PUBLIC:
        return "allowed"
    api = path.startswith("/api/")
    authenticated = (how == "session" and (not api or method == "GET")) or (how == "token" and api)
    if not authenticated:
        return "login"
    if rule in (ADMIN_RULE, EDITOR_RULE) and not is_admin:
        return "forbidden"
    return "allowed"


def outcome(response: requests.Response, path: str) -> str:
    location = response.headers.get("location", "")
    if path.startswith("/api/") and response.status_code == 401:
        return "login"
    if response.status_code == 303 and location.startswith("/login?next="):
        return "login"
    if response.status_code == 403 and "administrator" in response.text:
        return "forbidden"
    assert response.status_code < 500, (path, response.status_code, response.text[:300])
    assert "did not come from this site" not in response.text, path  # the CSRF token was sent
    return "allowed"


def _client(base: str, how: str, account: tuple[str, str] | None, db: Database) -> Client:
    client = Client(base)
    page = client.get("/login").text  # a session with a CSRF token, as a browser has
    client.headers["X-CSRF-Token"] = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    if how == "session" and account is not None:
        signed = client.post(
            "/login", data={"email": account[0], "password": account[1], "csrf": "", "next": "/"}
        )
        assert signed.status_code == 303, signed.text
        page = client.get("/account/password").text  # signing in starts a new session
        client.headers["X-CSRF-Token"] = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    if how == "token" and account is not None:
        with db.write() as session:
            token = users.add_token(
                session, "walk", account[0], now=users.dt.datetime.now(users.dt.UTC)
            )
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def _request(client: Client, method: str, path: str, **params: str) -> requests.Response:
    url = path.format(**{**PARAMS, **params})
    if method == "GET":
        return client.get(url)
    if method == "DELETE":  # a topic that does not exist: the walk must not remove its own
        return client.delete(path.format(**{**PARAMS, "slug": "no-such-topic", **params}))
    if method == "PUT":
        return client.put(url, json={"settings": {}, "version": 1})
    if url.startswith("/api/"):
        return client.post(url, json={"action": "defer", "version": 1})
    return client.post(url, data={"version": "1", "action": "defer", "entry": "1"})


@pytest.fixture
def server(tmp_path: Path, db: Database) -> Iterator[tuple[FastAPI, str]]:
    seed(db)
    app = build(tmp_path, db)
    with live_server(app) as base:
        yield app, base


def test_every_route_has_a_rule(server: tuple[FastAPI, str]) -> None:
    app, _ = server
    routes = set(app_routes(app))
    assert routes - RULES.keys() == set(), "a route without an access rule: add it to RULES"
    assert RULES.keys() - routes == set(), "a rule for a route that no longer exists"


def test_every_route_for_every_role(server: tuple[FastAPI, str], db: Database) -> None:
    app, base = server
    wrong = []
    for name, account, how in ROLES:
        with _client(base, how, account, db) as client:
            for method, path in sorted(RULES):
                if method == "MOUNT":
                    response = client.get(f"{path}/app.js")
                    assert response.status_code == 200
                    continue
                if path in ("/logout", "/login", "/account/password"):
                    continue  # would end or change the walking session; walked below
                want = expected(RULES[method, path], how, account == ADMIN, method, path)
                got = outcome(_request(client, method, path), path)
                if got != want:
                    wrong.append(f"{name}: {method} {path}: {got}, the rule says {want}")
    assert wrong == [], "\n".join(wrong)


def test_sign_in_and_password_routes_by_role(server: tuple[FastAPI, str], db: Database) -> None:
    _, base = server
    for name, account, how in ROLES:
        with _client(base, how, account, db) as client:
            want = "allowed" if how == "session" else "login"
            got = outcome(client.get("/account/password"), "/account/password")
            assert got == want, name
            assert outcome(client.get("/login"), "/login") == "allowed"
            assert outcome(client.post("/logout"), "/logout") == "allowed"


def test_api_runs_is_no_wider_than_the_runs_page(server: tuple[FastAPI, str], db: Database) -> None:
    _, base = server
    with _client(base, "token", REVIEWER, db) as client:
        refused = client.get("/api/runs")
        assert refused.status_code == 403 and "items" not in refused.text
    with _client(base, "session", REVIEWER, db) as client:
        assert client.get("/runs").status_code == 403
        assert client.get("/api/runs").status_code == 403


HUGE = str(10**23)


def test_ids_no_row_can_have_are_not_found(server: tuple[FastAPI, str], db: Database) -> None:
    """Every int path parameter of every route, too large for the database (and 0, and
    negative): 404, never a 500; an int query parameter: 422."""
    app, base = server
    int_routes = [
        (method, path, param.name)
        for path, route in flat_routes(app.routes)
        if isinstance(route, APIRoute)
        for method in route.methods - {"HEAD"}
        for param in route.dependant.path_params
        if param.field_info.annotation is int
    ]
    assert {path for _, path, _ in int_routes} >= {
        "/api/candidates/{candidate_id}",
        "/bulletins/{bulletin_id}/download/{fmt}",
        "/candidates/{candidate_id}/decide",
    }
    with _client(base, "session", ADMIN, db) as pages, _client(base, "token", ADMIN, db) as api:
        for method, path, name in int_routes:
            client = api if path.startswith("/api/") else pages
            for value in (HUGE, "2147483648", "0", "-1"):
                response = _request(client, method, path, **{name: value})
                assert response.status_code == 404, (method, path, value, response.text[:200])
        for client, url in (
            (pages, f"/runs?before={HUGE}"),
            (api, f"/api/runs?before={HUGE}"),
            (api, f"/api/runs?limit={HUGE}"),
            (api, f"/api/topics/{TOPIC}/candidates?limit={HUGE}"),
        ):
            response = client.get(url)
            assert response.status_code == 422, (url, response.text[:200])
            assert "too large" in response.text
        # ids inside forms and page links
        token = pages.headers["X-CSRF-Token"]
        for form in ({"entry": HUGE, "section": "News", "position": "1"}, {"entry": HUGE}):
            for action in ("move", "remove", "restore"):
                if action != "move" and "section" in form:
                    continue
                answer = pages.post(
                    f"/topics/{TOPIC}/bulletin/{action}", data={**form, "csrf": token}
                )
                assert answer.status_code in (303, 422), (action, answer.text[:200])
        summary = pages.post(
            f"/topics/{TOPIC}/bulletin/summary",
            data={"candidate": HUGE, "version": HUGE, "summary": "x", "csrf": token},
        )
        assert summary.status_code == 422
        bulk = pages.post(
            f"/topics/{TOPIC}/bulk", data={"action": "defer", "ids": f"{HUGE}:1", "csrf": token}
        )
        assert bulk.status_code == 303
        decide = api.post(
            "/api/candidates/1/decisions", json={"action": "defer", "version": 10**23}
        )
        assert decide.status_code == 422
        for cursor_value in (
            ["score", 1e308 * 10, 1],
            ["score", 10**23, 1],
            ["found", "2024-01-01T00:00:00+00:00", 10**23],
        ):
            cursor = base64.urlsafe_b64encode(json.dumps(cursor_value).encode()).decode()
            sort = cursor_value[0]
            listing = api.get(
                f"/api/topics/{TOPIC}/candidates", params={"cursor": cursor, "sort": sort}
            )
            assert listing.status_code == 400, listing.text[:200]
            page = pages.get(f"/topics/{TOPIC}", params={"cursor": cursor, "sort": sort})
            assert page.status_code == 200 and "page link is out of date" in page.text


def test_every_error_of_the_tree_has_its_status() -> None:
    """One handler maps the error tree: a not-found is 404, a conflict 409, a refused move 400,
    a failing mail server 502; nothing in the tree falls through to a bare 500 by accident."""
    from harvester.core import errors as tree
    from harvester.web.errors import STATUSES, status_of

    classes = [
        value
        for value in vars(tree).values()
        if isinstance(value, type) and issubclass(value, tree.HarvesterError)
    ]
    assert len(classes) >= 14
    for cls in classes:  # each kind is placed on purpose, not left to the base's catch-all
        first = next(base for base in cls.__mro__ if base in STATUSES)
        assert first is not tree.HarvesterError or cls is tree.HarvesterError, cls
    assert status_of(tree.NotFoundError("x")) == 404
    assert status_of(tree.ConflictError("x")) == 409
    assert status_of(tree.QueueError("x")) == 400
    assert status_of(tree.FetchError("x")) == 502
    assert status_of(tree.NotInitialisedError("x")) == 503
