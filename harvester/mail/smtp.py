"""Mail transport only: SMTP (plain, STARTTLS or implicit TLS, optional AUTH) or an outbox folder.

With no ``[smtp] host`` a message is written as an ``.eml`` file into the outbox folder (the
embedded default: nothing to set up, and any mail client opens the file). Every SMTP failure is
raised as one :class:`~harvester.core.errors.MailError` naming ``host:port`` and the reason.

A timeout or a dropped connection *after* the message body was handed over (the server has the
message and its final answer never came) is :class:`~harvester.core.errors.MailUncertain`: the
message may have gone out, so it must not be sent again automatically. A failure while closing
the connection after the server accepted the message is no failure at all.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import Any

from harvester.config.settings import SMTPSettings
from harvester.core.errors import MailError, MailUncertain


@dataclass(frozen=True, slots=True)
class Delivery:
    status: str  # "sent" or "outbox"
    where: str  # host:port, or the .eml file's path


def deliver(
    message: EmailMessage,
    settings: SMTPSettings,
    *,
    outbox: Path,
    name: str,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Delivery:
    """Send ``message`` by SMTP when a host is set, else write ``outbox/name.eml``."""
    if not settings.host:
        return Delivery("outbox", str(write_outbox(message, outbox, name)))
    send_smtp(message, settings, password=password, ssl_context=ssl_context)
    return Delivery("sent", f"{settings.host}:{settings.port}")


class _Watch(smtplib.SMTP):
    """Notes when the message body has been handed over in full (DATA's content and its final
    dot sent), which is the point after which a lost answer means "may have gone out"."""

    handed_over = False
    _in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s: Any) -> None:
        super().send(s)
        # Inside DATA, the command itself is sent as text and the message body as bytes.
        if self._in_data and isinstance(s, bytes):
            self.handed_over = True


class _SMTP(_Watch):
    pass


class _SMTPSSL(_Watch, smtplib.SMTP_SSL):
    pass


def send_smtp(
    message: EmailMessage,
    settings: SMTPSettings,
    *,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> None:
    """Send through ``settings.host``; ``ssl_context`` replaces the system trust (tests only)."""
    assert settings.host is not None
    where = f"{settings.host}:{settings.port}"
    secret = password if password is not None else settings.password
    context = ssl_context or ssl.create_default_context()
    client: _SMTP | _SMTPSSL | None = None
    accepted = False
    try:
        if settings.ssl:
            client = _SMTPSSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = _SMTP(settings.host, settings.port, timeout=settings.timeout)
        try:
            client.ehlo()
            if settings.starttls:
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                if secret is None:
                    raise MailError(
                        f"SMTP {where}: [smtp] username is set but no password",
                        hint="set HARVESTER_SMTP__PASSWORD",
                    )
                client.login(settings.username, secret)
            refused = client.send_message(message)
            accepted = True
        finally:
            _close(client, accepted)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP {where}: login refused ({_reply(exc)})") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"SMTP {where}: {exc}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused_all = ", ".join(sorted(exc.recipients))
        raise MailError(f"SMTP {where}: every recipient refused ({refused_all})") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {where}: {_reply(exc)}") from None
    except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
        if client is not None and client.handed_over:
            raise MailUncertain(
                f"SMTP {where}: the server had the whole message but gave no answer "
                f"({_lost(exc, settings.timeout)}); it may have gone out"
            ) from None
        raise MailError(f"SMTP {where}: {_lost(exc, settings.timeout)}") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP {where}: {exc}") from None
    if refused:
        names = ", ".join(sorted(refused))
        raise MailError(f"SMTP {where}: some recipients refused ({names})")


def write_outbox(message: EmailMessage, folder: Path, name: str) -> Path:
    """Write ``message`` to ``folder/name.eml`` atomically (a reader never sees half a file)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name}.eml"
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(message.as_bytes(policy=SMTP))
        os.replace(temp, target)
    except OSError as exc:
        raise MailError(f"outbox {folder}: cannot write ({exc.strerror or exc})") from None
    return target


def _close(client: smtplib.SMTP, accepted: bool) -> None:
    """Say goodbye after a success (trouble then changes nothing: the server has the message);
    after a failure just drop the connection, so the first error is the one reported."""
    if accepted:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()
    client.close()


def _lost(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or exc})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if "timed out" in str(exc):  # smtplib reports a read timeout as a closed connection
            return f"timed out after {timeout:g} s"
        return "the server closed the connection"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}".strip()
