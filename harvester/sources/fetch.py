"""The one HTTP fetch of every network source: timeouts, a size cap, retries with back-off.

A :class:`Fetcher` sends one logical request and returns what ``accept`` makes of the answer.
Its :class:`Policy` says, per source, what is worth a second try; the loop is the same for all:

    attempt 1 ──► send ──► read the body (size cap, total deadline) ──► accept(reply) ──► result
        │  transient failure: a retryable status (429, 5xx as the policy says), a dropped
        │  connection, and (when ``retry_unfinished``) a timeout, a cut-off body, or an answer
        │  ``accept`` refuses with :class:`Retry`
        ▼
    wait ``backoff_base * 2**(n-1)`` + jitter, at least ``Retry-After`` (cut to
    ``max_retry_after``) ──► attempt n+1 ... up to ``1 + max_retries`` attempts

``max_retries`` means the same for every source: retries after the first attempt. A host name that
does not resolve fails at once (no network, or a wrong address: retrying only makes the user
wait); so does any other HTTP status, an invalid URL, too many redirects, and a body over the
size cap. Every failure is a :class:`~harvester.core.errors.FetchError` that names the URL and the
last reason in one line; after several attempts it says how many ("failed after 3 attempts").
Redirects are followed or refused as the policy says (PubMed refuses them, so an API key never
reaches another host). Bodies are read in chunks with ``read1`` (whatever has arrived), so the
size cap and the total deadline are checked while a slow server is still sending.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import requests
import urllib3

from harvester.core.errors import FetchError

__all__ = [
    "Fetcher",
    "Policy",
    "Reply",
    "Retry",
    "backoff_delay",
    "describe_failure",
    "host_not_found",
    "retry_after_seconds",
]

T = TypeVar("T")

CHUNK_SIZE = 64 * 1024
#: Bytes of an error answer's body read for its message.
ERROR_BODY = 4096
#: Every 5xx and 429: what PubMed retries.
SERVER_TROUBLE = frozenset({429, *range(500, 600)})

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Policy:
    """How one source fetches: timeouts, caps, and which failures are worth another attempt."""

    connect_timeout: float
    read_timeout: float
    max_retries: int
    backoff_base: float
    #: A longer ``Retry-After`` is cut to this many seconds.
    max_retry_after: float
    retry_statuses: Collection[int] = SERVER_TROUBLE
    #: Whether timeouts and bodies cut off or undecodable are retried (else they fail at once).
    retry_unfinished: bool = True
    follow_redirects: bool = False
    #: Statuses handed to ``accept``; any other fails (2xx always, and e.g. 304 for feeds).
    ok_statuses: Collection[int] = ()
    max_bytes: int | None = None
    total_timeout: float | None = None
    #: Added to "host name not found" errors: where to look.
    host_hint: str | None = None

    @classmethod
    def of(cls, settings: _Timeouts, **policy: Any) -> Policy:
        """A policy with the timeouts and retries of a source's settings section."""
        return cls(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_retries=settings.max_retries,
            backoff_base=settings.backoff_base,
            **policy,
        )


class _Timeouts(Protocol):
    """The settings every network source has (``[pubmed]``, ``[feeds]``)."""

    @property
    def connect_timeout(self) -> float: ...
    @property
    def read_timeout(self) -> float: ...
    @property
    def max_retries(self) -> int: ...
    @property
    def backoff_base(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer with its whole body (decoded from gzip/deflate)."""

    status: int
    reason: str
    url: str
    headers: Mapping[str, str]
    body: bytes


class Retry(Exception):  # noqa: N818 - a signal to the loop, not an error shown to anyone
    """Raised by ``accept``: this answer is transient (e.g. malformed); try again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Unfinished(Exception):  # noqa: N818
    """The body could not be read; ``transient`` when a retry may bring it whole."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


def _default_status(reply: Reply) -> str:
    return f"HTTP {reply.status}{f' {reply.reason}' if reply.reason else ''}"


class Fetcher:
    """Sends requests for one source with its policy, counting every attempt.

    ``limit`` wraps each attempt (a rate limiter's :meth:`slot`); ``describe_status`` words a
    refused status for errors and logs; ``shown`` (per request) is the URL as errors show it
    (without secrets). The last answer's status, final URL and received bytes stay readable
    on the fetcher (``http_status``, ``final_url``, ``bytes_received``), also after a failure.
    """

    def __init__(
        self,
        policy: Policy,
        session: requests.Session,
        *,
        limit: Callable[[], AbstractContextManager[object]] = nullcontext,
        sleep: Callable[[float], None] = time.sleep,
        describe_status: Callable[[Reply], str] = _default_status,
        logger: logging.Logger = log,
        label: str = "request",
    ) -> None:
        self.policy = policy
        self.session = session
        self.requests_made = 0
        self.http_status: int | None = None
        self.final_url: str | None = None
        self.bytes_received = 0
        self._limit = limit
        self._sleep = sleep
        self._describe_status = describe_status
        self._log = logger
        self._label = label

    def fetch(
        self,
        url: str,
        accept: Callable[[Reply], T],
        *,
        method: str = "GET",
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        shown: str | None = None,
    ) -> T:
        """One logical request, retried as the policy says; returns ``accept(reply)``."""
        policy = self.policy
        shown = shown or url
        attempts = policy.max_retries + 1
        reason = ""
        retry_after: float | None = None
        for attempt in range(attempts):
            if attempt:
                delay = backoff_delay(
                    attempt,
                    policy.backoff_base,
                    retry_after=retry_after,
                    cap=policy.max_retry_after,
                )
                self._log.warning(
                    "%s %s failed (%s); retry %d of %d in %.2fs",
                    self._label,
                    shown,
                    reason,
                    attempt,
                    attempts - 1,
                    delay,
                )
                self._sleep(delay)
            retry_after = None
            self.requests_made += 1
            try:
                with self._limit():
                    reply = self._attempt(method, url, params=params, data=data, headers=headers)
            except requests.RequestException as exc:
                reason = describe_failure(exc, policy.connect_timeout, policy.read_timeout)
                if host_not_found(exc):
                    raise FetchError(
                        f"{shown}: {reason}", url=shown, hint=policy.host_hint
                    ) from None
                if not self._transient(exc):
                    raise FetchError(f"{shown}: {reason}", url=shown) from None
                continue
            except _Unfinished as exc:
                reason = exc.reason
                if not exc.transient:
                    raise FetchError(f"{shown}: {reason}", url=shown) from None
                continue
            status = reply.status
            if status in policy.retry_statuses:
                reason = self._describe_status(reply)
                retry_after = retry_after_seconds(reply.headers.get("Retry-After"))
                continue
            if not (200 <= status < 300 or status in policy.ok_statuses):
                raise FetchError(f"{shown}: {self._describe_status(reply)}", url=shown)
            try:
                return accept(reply)
            except Retry as exc:
                reason = exc.reason
        if attempts == 1:
            raise FetchError(f"{shown}: {reason}", url=shown)
        raise FetchError(f"{shown}: failed after {attempts} attempts: {reason}", url=shown)

    def _transient(self, exc: requests.RequestException) -> bool:
        if isinstance(exc, requests.Timeout):
            return self.policy.retry_unfinished
        if isinstance(
            exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
        ):
            return self.policy.retry_unfinished
        return isinstance(exc, requests.ConnectionError)

    def _attempt(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> Reply:
        policy = self.policy
        self.bytes_received = 0
        response = self.session.request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            timeout=(policy.connect_timeout, policy.read_timeout),
            stream=True,
            allow_redirects=policy.follow_redirects,
        )
        with response:
            self.http_status = response.status_code
            self.final_url = response.url
            status = response.status_code
            wanted = 200 <= status < 300 or status in policy.ok_statuses
            body = self._read(response, whole=wanted and status not in policy.retry_statuses)
            return Reply(status, response.reason or "", response.url, response.headers, body)

    def _read(self, response: requests.Response, *, whole: bool) -> bytes:
        """The decoded body (only its start, for an error answer), within the caps."""
        policy = self.policy
        max_bytes = policy.max_bytes if whole else ERROR_BODY
        declared = response.headers.get("Content-Length", "")
        if whole and max_bytes is not None and declared.isdigit() and int(declared) > max_bytes:
            raise _Unfinished(
                f"body of {declared} bytes is over the {max_bytes}-byte limit", transient=False
            )
        deadline = None if policy.total_timeout is None else time.monotonic() + policy.total_timeout
        chunks: list[bytes] = []
        size = 0
        retry = policy.retry_unfinished
        try:
            while chunk := response.raw.read1(CHUNK_SIZE, decode_content=True):
                size += len(chunk)
                self.bytes_received = _wire_bytes(response, size)
                if max_bytes is not None and size > max_bytes:
                    if not whole:
                        break
                    raise _Unfinished(f"body is over the {max_bytes}-byte limit", transient=False)
                if deadline is not None and time.monotonic() > deadline:
                    raise _Unfinished(
                        f"body not complete within {policy.total_timeout:g} s", transient=False
                    )
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            raise _Unfinished("timed out while reading the body", transient=retry) from None
        except urllib3.exceptions.DecodeError as exc:
            raise _Unfinished(f"body cannot be decompressed ({exc})", transient=retry) from None
        except urllib3.exceptions.ProtocolError:
            self.bytes_received = _wire_bytes(response, size)
            raise _Unfinished(
                f"connection closed after {self.bytes_received} bytes, body incomplete",
                transient=retry,
            ) from None
        return b"".join(chunks)


def _wire_bytes(response: requests.Response, decoded: int) -> int:
    """Bytes that came over the wire (compressed size when gzip was used)."""
    tell: Any = getattr(response.raw, "tell", None)
    try:
        return int(tell()) if tell is not None else decoded
    except (OSError, ValueError):
        return decoded


# ------------------------------------------------------------------------------ arithmetic


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def backoff_delay(retry: int, base: float, *, retry_after: float | None, cap: float) -> float:
    """The wait before retry number ``retry`` (1, 2, ...): ``base`` doubled each time plus up to
    ``base`` of jitter, and at least what the server asked for (``retry_after``, cut to ``cap``)."""
    delay = base * 2.0 ** (retry - 1) + random.uniform(0, base)
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay


def describe_failure(
    exc: requests.RequestException, connect_timeout: float, read_timeout: float
) -> str:
    """What went wrong with a request that got no HTTP answer, in a few words."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {connect_timeout:g} s"
    if isinstance(exc, requests.ReadTimeout):
        return f"no answer within {read_timeout:g} s (read timeout)"
    if isinstance(exc, requests.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a valid URL"
    if isinstance(exc, requests.exceptions.InvalidSchema):
        return "not an http(s) URL"
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return f"body incomplete or undecodable ({_root_cause(exc)})"
    if isinstance(exc, requests.ConnectionError):
        return f"cannot connect ({_root_cause(exc)})"
    return type(exc).__name__


def host_not_found(exc: BaseException) -> bool:
    """Whether a request failed because its host name could not be resolved: no network, or a
    wrong address. Retrying that only makes the user wait, so the fetcher fails at once."""
    return _root_cause(exc) == "host name not found"


def _root_cause(exc: BaseException) -> str:
    names = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names.append(type(current).__name__)
        nested = getattr(current, "reason", None)
        if nested is None and current.args and isinstance(current.args[0], BaseException):
            nested = current.args[0]
        current = nested if isinstance(nested, BaseException) else current.__cause__
    if "NameResolutionError" in names or any("gaierror" in n for n in names):
        return "host name not found"
    if "ConnectionRefusedError" in names:
        return "connection refused"
    if "ConnectionResetError" in names:
        return "connection reset"
    if "RemoteDisconnected" in names:
        return "the server closed the connection without answering"
    return names[-1] if names else type(exc).__name__
