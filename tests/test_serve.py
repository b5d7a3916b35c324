"""`harvester serve` as a newcomer meets it: an empty folder, one command, a working service."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


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
        assert health["database"] == "ok" and health["scheduler"]["owner"] is True
        assert (tmp_path / "harvester.toml").is_file()
        assert (tmp_path / "queries" / "social-prescribing.toml").is_file()
        assert (tmp_path / "harvester.db").is_file()
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(f"http://127.0.0.1:{port}/", timeout=5)
        answer.value.close()
        assert answer.value.code == 303 and "/login" in answer.value.headers["Location"]
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "harvester user add EMAIL --admin" in err
    assert f"http://127.0.0.1:{port}/" in err
    # routine start-up is not a warning, the address is said once, and no line comes twice
    assert err.count("serving on") == 1, err
    assert "owns the scheduler" not in err and "scheduled jobs run" not in err, err
    bodies = [line.split(" ", 2)[-1] for line in err.splitlines() if line.strip()]
    assert len(bodies) == len(set(bodies)), err
