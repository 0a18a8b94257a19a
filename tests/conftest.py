"""Fixtures every test folder can use."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.processes import ServiceProcess, make_spawner

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    """A folder (git-ignored) where a test leaves screenshots and logs for a person to read."""
    path = ARTIFACTS / str(request.node.name)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start a process: `spawn("op_api", [script, ...], env={...})`; stopped after the test.

    `args` may contain `{port}`, replaced by the free port chosen for the process.
    """
    spawner, started = make_spawner(tmp_path)
    yield spawner
    for proc in reversed(started):
        proc.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for one test module (sync Playwright API).

    Module scope, not session: while sync Playwright runs, its event loop counts as running in
    this thread, which would break every asyncio test collected after the first page test.
    """
    from playwright.sync_api import sync_playwright

    try:
        executable = chromium_path()
    except RuntimeError as exc:
        # CI sets PAGUITO_REQUIRE_BROWSER=1 so a missing browser fails there instead of skipping.
        if os.environ.get("PAGUITO_REQUIRE_BROWSER") == "1":
            raise
        pytest.skip(str(exc))
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(autouse=True)
def migrations_in_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores a test opens run their start-up migrations in the test's own process: the child a
    service starts for them (`shared.migrations`) costs a second each, hundreds of times over.
    Tests marked `migrations_child`, and every service process a test starts, use the child."""
    if request.node.get_closest_marker("migrations_child"):
        return
    from shared import migrations
    from shared.migrate import upgrade_url

    async def in_process(spec: migrations.Migrations, url: str) -> None:
        await upgrade_url(spec, url, Path("unused"))

    monkeypatch.setattr(migrations, "run_migrations", in_process)
