"""`harvester serve` as a newcomer meets it: an empty folder, one command, a working service."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


ADMIN = ("admin@example.org", "admin password 1")


def _add_admin(folder: Path, env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "harvester", "user", "add", ADMIN[0], "--admin", "--password-stdin"],
        cwd=folder,
        env=env,
        input=ADMIN[1] + "\n",
        text=True,
        check=True,
        capture_output=True,
    )


def _browser() -> requests.Session:
    browser = requests.Session()
    browser.trust_env = False  # loopback only, whatever proxy the environment names
    return browser


def _sign_in(
    port: int,
    account: tuple[str, str],
    *,
    forwarded: str | None = None,
    browser: requests.Session | None = None,
) -> requests.Response:
    browser = browser or _browser()
    base = f"http://127.0.0.1:{port}"
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    page = browser.get(f"{base}/login", headers=headers, timeout=5).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token
    return browser.post(
        f"{base}/login",
        data={"email": account[0], "password": account[1], "csrf": token.group(1)},
        headers=headers,
        allow_redirects=False,
        timeout=10,
    )


def _signed_in(port: int, account: tuple[str, str]) -> requests.Session:
    browser = _browser()
    assert _sign_in(port, account, browser=browser).status_code == 303
    return browser


@pytest.mark.slow
def test_serve_in_an_empty_folder_sets_up_and_serves(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARVESTER_")}
    env["NO_PROXY"] = "127.0.0.1"
    process = subprocess.Popen(
        [sys.executable, "-m", "harvester", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(process.stderr.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        health = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and health is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert health is not None, "the service did not answer /healthz within 30 s"
        assert health == {"status": "ok"}  # the details (host, pid) are for administrators
        opener = urllib.request.build_opener(_NoRedirect)
        link = next(
            line.split(" at ", 1)[1].strip()
            for line in lines
            if line.startswith("no accounts yet: create the first administrator at ")
        )
        assert link.startswith(f"http://127.0.0.1:{port}/setup/")
        with opener.open(link, timeout=5) as page:
            assert "Create the first administrator" in page.read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            opener.open(f"http://127.0.0.1:{port}/setup/guessed", timeout=5)
        missing.value.close()
        assert missing.value.code == 404
        _add_admin(tmp_path, env)  # from a shell, as an alternative to the link
        with pytest.raises(urllib.error.HTTPError) as used:
            opener.open(link, timeout=5)
        used.value.close()
        assert used.value.code == 404  # accounts exist: no set-up page any more
        admin = _signed_in(port, ADMIN)
        details = admin.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
        assert details["database"] == "ok" and details["scheduler"]["owner"] is True
        # uvicorn's own default would trust X-Forwarded-For from 127.0.0.1: serve does not
        for n in range(5):
            wrong = _sign_in(port, (ADMIN[0], "wrong password"), forwarded=f"198.51.100.{n}")
            assert wrong.status_code == 401
        blocked = _sign_in(port, ADMIN, forwarded="198.51.100.77")
        assert blocked.status_code == 429
        assert (tmp_path / "harvester.toml").is_file()
        assert (tmp_path / "queries" / "social-prescribing.toml").is_file()
        assert (tmp_path / "harvester.db").is_file()
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(f"http://127.0.0.1:{port}/", timeout=5)
        answer.value.close()
        assert answer.value.code == 303 and "/login" in answer.value.headers["Location"]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=5)
        assert process.stderr is not None
        process.stderr.close()
    err = "".join(lines)
    assert process.returncode == 0, err
    assert f"http://127.0.0.1:{port}/" in err
    # routine start-up is not a warning, the address is said once, and no line comes twice
    assert err.count("serving on") == 1, err
    assert "owns the scheduler" not in err and "scheduled jobs run" not in err, err
    bodies = [line.split(" ", 2)[-1] for line in err.splitlines() if line.strip()]
    assert len(bodies) == len(set(bodies)), err
