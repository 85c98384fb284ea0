"""The REST API (/api/v1, /health, /ready) on FastAPI."""
