"""Checks of the ``[web]`` settings: the session signing key and the trusted proxies."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

#: The shortest session signing key accepted: 32 characters (a ``secrets.token_urlsafe(32)``
#: is 43), so that a key cannot be guessed from the cookies it signs.
MIN_SECRET_KEY = 32


def check_secret_key(value: str | None) -> str | None:
    if value is not None and len(value) < MIN_SECRET_KEY:
        raise ValueError(
            f"a key of at least {MIN_SECRET_KEY} characters to sign sessions safely, got "
            f"{len(value)} (make one with: python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    return value


def check_proxies(value: Any) -> Any:
    """IP addresses or networks, as a list or (from the environment) a comma-separated string."""
    if isinstance(value, str):  # HARVESTER_WEB__TRUSTED_PROXIES="10.0.0.1, 10.0.0.2"
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if isinstance(value, list):
        for item in value:
            try:
                ipaddress.ip_network(str(item), strict=False)
            except ValueError:
                raise ValueError(
                    f"IP addresses or networks such as 127.0.0.1 or 10.0.0.0/8, got {item!r}"
                ) from None
    return value
