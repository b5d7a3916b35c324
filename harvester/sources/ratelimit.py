"""A thread-safe, process-wide request rate limiter.

NCBI allows 3 requests per second from one client without an API key and 10 with one, counted
across everything that client does. Several topics may harvest in one process (the scheduler runs
jobs in threads), so the limit must be shared: :func:`shared_limiter` hands every E-utilities
client with the same identity the same :class:`RateLimiter`.

The limiter keeps a stamp for each of the last ``rate`` requests and lets a new one start only
when fewer than ``rate`` stamps lie in the preceding ``period`` plus a safety ``margin``: "at most
N in any one-second window", NCBI's rule, which allows a short burst after a pause. The server
counts arrivals, and a request arrives somewhere between its start and the end of its answer, so a
request made through :meth:`RateLimiter.slot` is stamped with the time its answer ended: then the
(N+1)th request starts at least a period after the first one's arrival however long that one was
on its way (a new connection, a busy thread on either side). A request that has not ended yet
counts from its start, plus :data:`SAFETY_MARGIN` (measured in ``benchmarks/pubmed_bench.py``,
and under a tenth of a long backfill's speed). A caller reserves its slot
under the lock and sleeps outside it, so waiting threads are served in order and none spins.
The clock and the sleep function are injectable so tests can check the schedule without waiting.

NCBI counts per client, not per process: two harvests started one after the other (the
scheduler's and one from the command line) must share one budget. :class:`SharedRateLimiter`
keeps the stamps in a small file of the installation's data folder, read and rewritten under an
exclusive ``fcntl`` lock, with wall-clock times every process agrees on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: each process keeps its own budget
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: Requests per second NCBI allows without and with an API key.
NCBI_RATE_ANONYMOUS = 3
NCBI_RATE_WITH_KEY = 10
#: Seconds added to each period: the (N+1)th request starts this long after the first has aged
#: out of the window.
SAFETY_MARGIN = 0.1


class RateLimiter:
    """At most ``rate`` calls of :meth:`acquire` return within any ``period`` seconds; the
    (rate+1)th returns no sooner than ``period + margin`` after the first."""

    def __init__(
        self,
        rate: int,
        *,
        period: float = 1.0,
        margin: float = SAFETY_MARGIN,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate < 1:
            raise ValueError(f"rate must be at least 1, got {rate}")
        if period <= 0:
            raise ValueError(f"period must be positive, got {period}")
        if margin < 0:
            raise ValueError(f"margin must not be negative, got {margin}")
        self.rate = rate
        self.period = period
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # One stamp per request (a one-item list, so that slot() can move it to the answer's end).
        self._stamps: deque[list[float]] = deque(maxlen=rate)

    def acquire(self) -> float:
        """Block until a request may start; return how long this call waited (seconds)."""
        return self._reserve()[1]

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Wait for a request's turn (yields the wait), then stamp it with the time the request
        ended, which is no earlier than its arrival at the server."""
        stamp, wait = self._reserve()
        try:
            yield wait
        finally:
            self._finish(stamp)

    def _finish(self, stamp: Any) -> None:
        with self._lock:
            stamp[0] = max(stamp[0], self._clock())

    def _reserve(self) -> tuple[Any, float]:
        with self._lock:
            now = self._clock()
            start = now
            if len(self._stamps) == self.rate:
                # The earliest of the last `rate` stamps must be a full period (and the margin) ago.
                earliest = min(stamp[0] for stamp in self._stamps)
                start = max(now, earliest + self.period + self.margin)
            stamp = [start]
            self._stamps.append(stamp)
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return stamp, wait


class SharedRateLimiter(RateLimiter):
    """A :class:`RateLimiter` whose stamps every process of one installation shares, through
    the file ``path`` (created when missing). When the file cannot be used the limiter keeps
    its budget in this process, with a warning."""

    def __init__(
        self,
        rate: int,
        path: Path,
        *,
        period: float = 1.0,
        margin: float = SAFETY_MARGIN,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        super().__init__(rate, period=period, margin=margin, clock=clock, sleep=sleep)
        self.path = path
        self._local = fcntl is None

    @contextmanager
    def _shared(self) -> Iterator[list[list[Any]]]:
        """The stamps ``[token, time]``, oldest first, locked against every other process (and
        thread) until the block ends, then written back."""
        with self._lock, self.path.open("a+", encoding="utf-8") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            handle.seek(0)
            try:
                stamps = [list(item) for item in json.loads(handle.read() or "[]")]
            except (ValueError, TypeError):
                stamps = []  # a torn or foreign file: start afresh
            yield stamps
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(stamps[-self.rate :]))
            handle.flush()
            os.fsync(handle.fileno())

    def _reserve(self) -> tuple[Any, float]:
        if self._local:
            return super()._reserve()
        try:
            with self._shared() as stamps:
                now = self._clock()
                start = now
                recent = stamps[-self.rate :]
                if len(recent) == self.rate:
                    start = max(now, min(float(t) for _, t in recent) + self.period + self.margin)
                token = uuid.uuid4().hex
                stamps.append([token, start])
        except OSError as exc:
            log.warning(
                "cannot share the request budget through %s (%s); counting in this process only",
                self.path,
                exc.strerror or exc,
            )
            self._local = True
            return super()._reserve()
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return token, wait

    def _finish(self, stamp: Any) -> None:
        if not isinstance(stamp, str):
            super()._finish(stamp)
            return
        try:
            with self._shared() as stamps:
                for item in stamps:
                    if item[0] == stamp:
                        item[1] = max(float(item[1]), self._clock())
        except OSError:
            pass  # the reservation stands; the next request still waits for it


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_key(service: str, api_key: str | None) -> str:
    """The identity NCBI counts requests by: the API key when there is one, else the client.

    The key itself is never kept: only a short digest of it names the limiter.
    """
    if not api_key:
        return f"{service}:anonymous"
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:12]
    return f"{service}:key:{digest}"


def shared_limiter(service: str, api_key: str | None, folder: Path | None = None) -> RateLimiter:
    """The limiter for ``service`` under ``api_key`` (created on first use): process-wide, and
    shared with every other process that names the same data ``folder``."""
    identity = limiter_key(service, api_key)
    key = f"{identity}@{folder}" if folder is not None else identity
    with _registry_lock:
        limiter = _registry.get(key)
        if limiter is None:
            rate = NCBI_RATE_WITH_KEY if api_key else NCBI_RATE_ANONYMOUS
            if folder is None:
                limiter = RateLimiter(rate)
            else:
                name = identity.replace(":", "-")
                limiter = SharedRateLimiter(rate, folder / f".{name}.requests")
            _registry[key] = limiter
        return limiter
