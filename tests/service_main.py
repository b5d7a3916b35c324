"""Run the service as `harvester serve` will, with the minimal /healthz app: for process tests.

Usage: python tests/service_main.py PORT   (settings from HARVESTER_CONFIG)
"""

from __future__ import annotations

import logging
import sys

from harvester.config.settings import load_settings
from harvester.service.runner import run_service
from harvester.store.db import Database

if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings()
    database = Database(settings.database.url, busy_timeout_ms=settings.database.busy_timeout_ms)
    sys.exit(run_service(settings, database, host="127.0.0.1", port=int(sys.argv[1])))
