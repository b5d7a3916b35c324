"""What every command shares: the group that turns errors into one line, the :class:`App`
that loads settings and opens the database once, and writing output files."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, NoReturn, TextIO, overload

import click

from harvester.config.settings import Settings, load_settings
from harvester.core.errors import HarvesterError, OutputError
from harvester.store.db import Database
from harvester.store.migrate import open_database
from harvester.store.topics import DatabaseTopics


class HarvesterGroup(click.Group):
    """A group that turns domain errors into one clear line and exit status 1, and anything
    unexpected into one ``internal error`` line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # usage errors, --help, --version and Ctrl-C: click's own handling
        except BrokenPipeError:
            # the reader went away (`harvester queue | head`): stop quietly, as other tools do
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except HarvesterError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            _fail(_with_file_hint(exc, ctx.find_object(App)))
        except Exception as exc:
            if ctx.find_root().params.get("debug"):
                raise
            logging.getLogger("harvester").debug("internal error", exc_info=True)
            text = " ".join(f"{type(exc).__name__}: {exc}".split())
            click.echo(f"internal error: {text}; run with --debug for the traceback", err=True)
            sys.exit(2)


_UNKNOWN_TOPIC = re.compile(r"^unknown topic '([^']+)'")


def _with_file_hint(exc: HarvesterError, app: App | None) -> HarvesterError:
    """An unknown topic that a file in the queries folder defines: say the file is not applied
    (topics live in the database; files are applied with ``harvester topic apply``)."""
    match = _UNKNOWN_TOPIC.match(exc.message)
    if match is None or app is None or exc.hint:
        return exc
    try:
        folder = app.settings.queries_dir
        files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    except HarvesterError:
        return exc
    slug = match.group(1)
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        named = re.search(r'^\s*slug\s*=\s*["\']([^"\']+)["\']', text, re.M)
        if (named.group(1) if named else file.stem.lower()) == slug:
            shown = file.relative_to(Path.cwd()) if file.is_relative_to(Path.cwd()) else file
            return type(exc)(
                f"{exc.message}; {shown} is not applied",
                hint=f"apply it with `harvester topic apply {shown}`",
            )
    return exc


def _fail(exc: HarvesterError) -> NoReturn:
    message = exc.message.replace("\n", " ")
    if exc.hint:
        message = f"{message}; {exc.hint}"
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class App:
    """What commands share: settings, loaded once, and the database, opened on first use."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._db: Database | None = None
        self._topics: DatabaseTopics | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings

    def database(self) -> Database:
        """The database, upgraded to the code's schema (it must have been created by init)."""
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    def check_topic(self, slug: str) -> None:
        """Refuse a topic slug that no topic file defines (a typo would file records nowhere)."""
        self.topics.get(slug)

    @property
    def topics(self) -> DatabaseTopics:
        """The topics stored in the database (on a database that never had any, the topic
        files of the queries folder are applied first)."""
        if self._topics is None:
            from harvester.usecases.topics import adopt_folder

            database = self.database()
            adopt_folder(database, self.settings.queries_dir, now=dt.datetime.now(dt.UTC))
            self._topics = DatabaseTopics(database)
        return self._topics

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


pass_app = click.make_pass_decorator(App)


@overload
def output_file(path: Path, encoding: str) -> AbstractContextManager[TextIO]: ...
@overload
def output_file(path: Path, encoding: None) -> AbstractContextManager[BinaryIO]: ...
def output_file(path: Path, encoding: str | None) -> AbstractContextManager[IO[Any]]:
    """``path`` opened for writing: text in ``encoding``, or bytes when it is None. A missing
    folder, a refused permission or a full disk (met on any write, or on the final flush) is an
    :class:`OutputError` naming the path. Every command that writes a file goes through here."""
    return _opened(path, encoding)


@contextmanager
def _opened(path: Path, encoding: str | None) -> Iterator[IO[Any]]:
    try:
        if encoding is None:
            with path.open("wb") as binary:
                yield binary
        else:
            with path.open("w", encoding=encoding, newline="") as text:
                yield text
    except OSError as exc:
        raise output_error(path, exc) from None


def output_error(path: Path, exc: OSError) -> OutputError:
    """The one-line error for a file that could not be written."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOENT and not path.parent.exists():
        return OutputError(f"cannot write {path}: the folder {path.parent} does not exist")
    if exc.errno == errno.EISDIR:
        return OutputError(f"cannot write {path}: it is a folder")
    if exc.errno == errno.ENOSPC:
        return OutputError(f"cannot write {path}: no space left on the device")
    return OutputError(f"cannot write {path}: {reason}")
