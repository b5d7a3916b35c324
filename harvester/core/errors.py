"""The one exception tree of harvester.

Every error a user can cause or meet derives from :class:`HarvesterError`. The command line prints
``str(error)`` as one line (plus the hint, when there is one) and exits non-zero; the web UI maps
the class to a status code. Nothing outside this tree should reach a user as a traceback.

    HarvesterError
    ├── ConfigError        a settings or topic file is wrong (file, line, key, what was expected)
    ├── StoreError         the database cannot be opened, migrated or written
    │   └── NotInitialisedError   no database / schema yet: run `harvester init`
    ├── SourceError        a source failed (URL and reason); the run records it, others go on
    │   ├── FetchError     HTTP/transport failure after retries
    │   └── ParseError     the body was not what the source expected
    ├── ImportFormatError  an import file could not be read (file, record number)
    ├── OutputError        a file the user named cannot be written (path and reason)
    ├── QueueError         an impossible candidate transition or unknown candidate
    │   └── ConflictError  the candidate changed since the reviewer saw it
    ├── BulletinError      nothing to publish, already published, no such bulletin or entry
    ├── AlreadyRunningError  a harvest of the topic is running already
    ├── NotFoundError      no such topic, candidate, user or token
    ├── AuthError          wrong password, disabled account, too many attempts
    └── MailError          SMTP failure (host:port and reason)
"""

from __future__ import annotations


class HarvesterError(Exception):
    """Base of every error harvester reports to a user."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(HarvesterError):
    """A settings file, topic file or environment variable is invalid."""


class StoreError(HarvesterError):
    """The database cannot be opened, migrated or written."""


class NotInitialisedError(StoreError):
    """There is no database (or no schema) yet."""

    hint = "run `harvester init` (or `harvester db upgrade`) first"


class SourceError(HarvesterError):
    """A source could not deliver: the run that met it records it and the others go on."""

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class FetchError(SourceError):
    """A network fetch failed after its retries."""


class ParseError(SourceError):
    """A fetched body could not be parsed."""


class ImportFormatError(HarvesterError):
    """An import file could not be read."""


class OutputError(HarvesterError):
    """A file the user asked for cannot be written: a missing folder, no permission, a full
    disk."""


class QueueError(HarvesterError):
    """A candidate transition that is not allowed, or a candidate that does not exist."""


class MailError(HarvesterError):
    """Sending mail failed."""


class MailUncertain(MailError):
    """The server had the whole message but its answer never came (a timeout or a dropped
    connection after the message body was handed over): the message may have gone out."""


class BulletinError(HarvesterError):
    """A bulletin operation that cannot be done: nothing to publish, already published, no such
    bulletin or entry."""


class ConflictError(QueueError):
    """A decision on a candidate that changed since the reviewer saw it: nothing was written."""


class AlreadyRunningError(HarvesterError):
    """A harvest of the topic is already running; a second one is refused."""


class NotFoundError(HarvesterError):
    """No topic, candidate, user or token of that name or id."""


class AuthError(HarvesterError):
    """A login or token that is refused."""
