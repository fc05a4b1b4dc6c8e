"""Shared pytest set-up. Fixtures live in tests/fixtures/<area>.py, one module per area."""

pytest_plugins = [
    "tests.fixtures.demo",
    "tests.fixtures.remote",
    "tests.fixtures.api",
]
