"""Log set-up shared by the command line and the service."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(verbosity: int = 0) -> None:
    """Warnings by default; ``verbosity`` 1 adds info, 2 or more debug. Safe to call again."""
    level = logging.WARNING - 10 * max(0, min(verbosity, 2))
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=level, format=FORMAT)
    root.setLevel(level)
    # uvicorn's access log would repeat every request at info, and alembic says which database
    # dialect it uses on every start: keep both for -vv
    for noisy in ("uvicorn.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    # one handler on the root logger: a library's own handler would print each line twice
    for name in ("harvester", "uvicorn", "uvicorn.error", "apscheduler"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True
