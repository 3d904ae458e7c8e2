"""Marks each test model/server/services by what it needs, for `make unit` (tests/markers.py).

Here, at the project root, so that `tests` is importable however pytest is started."""
pytest_plugins = ["tests.markers"]
