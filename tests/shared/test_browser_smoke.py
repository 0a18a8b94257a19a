"""The browser fixture works: Chromium renders a page served on loopback."""

import pytest

from tests.support.processes import console_script

pytestmark = pytest.mark.browser


def test_chromium_renders_a_loopback_page(page, spawn):
    proc = spawn("llm_back", [console_script("llm-back")])
    page.goto(proc.url + "/health")
    assert '"service":"llm_back"' in page.inner_text("body")
