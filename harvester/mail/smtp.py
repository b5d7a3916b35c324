"""Mail transport only: SMTP (plain, STARTTLS or implicit TLS, optional AUTH) or an outbox folder.

With no ``[smtp] host`` a message is written as an ``.eml`` file into the outbox folder (the
embedded default: nothing to set up, and any mail client opens the file). Every SMTP failure is
raised as one :class:`~harvester.core.errors.MailError` naming ``host:port`` and the reason.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from harvester.config.settings import SMTPSettings
from harvester.core.errors import MailError


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
    client: smtplib.SMTP
    try:
        if settings.ssl:
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
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
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP {where}: login refused ({_reply(exc)})") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(f"SMTP {where}: {exc}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused_all = ", ".join(sorted(exc.recipients))
        raise MailError(f"SMTP {where}: every recipient refused ({refused_all})") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP {where}: {_reply(exc)}") from None
    except smtplib.SMTPException as exc:
        raise MailError(f"SMTP {where}: {exc}") from None
    except ssl.SSLError as exc:
        raise MailError(f"SMTP {where}: TLS failed ({exc.reason or exc})") from None
    except TimeoutError:
        raise MailError(f"SMTP {where}: timed out after {settings.timeout:g} s") from None
    except OSError as exc:
        raise MailError(f"SMTP {where}: {exc.strerror or exc}") from None
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


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{exc.smtp_code} {text}".strip()
