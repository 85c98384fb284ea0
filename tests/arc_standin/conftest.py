"""The stand-in's own tests get its fixtures from tests/conftest.py (pytest_plugins)."""
