"""ws_bot refuses to start without the app secret; a flood gets one friendly answer."""

from __future__ import annotations

import subprocess
import time

from tests.support.processes import console_script, service_env
from tests.ws_bot.support import APP_SECRET, start_stack


def test_refuses_to_start_without_the_app_secret(tmp_path) -> None:
    env = service_env(META_PHONE_ID="1", META_ACCESS_TOKEN="t", DATA_DIR=str(tmp_path), PORT="1")
    for secret in (None, "", "short"):
        if secret is not None:
            env["META_APP_SECRET"] = secret
        done = subprocess.run(
            [console_script("ws-bot")], env=env, capture_output=True, timeout=60, text=True
        )
        assert done.returncode == 2
        assert "META_APP_SECRET" in done.stderr
        assert APP_SECRET not in done.stderr


def test_rate_limit_answers_once_and_drops_the_flood(spawn) -> None:
    stack = start_stack(
        spawn, extra_env={"RATE_LIMIT_MESSAGES": "3", "RATE_LIMIT_WINDOW_SECONDS": "60"}
    )
    phone, wa_id = stack.phone, "15550999001"
    for i in range(8):
        phone.say(wa_id, f"hola {i}", name="Flo")
    phone.wait_text(wa_id, "Vas muy rápido")  # no language chosen yet: Spanish
    time.sleep(1.5)
    texts = [m for m in phone.bot_messages(wa_id)]
    # 3 answered (the language question each time) + 1 friendly warning, nothing more.
    assert len(texts) == 4
