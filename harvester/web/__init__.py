"""The web interface: review queue, bulletin page, runs, JSON API (FastAPI)."""
