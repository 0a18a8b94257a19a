"""`python -m ws_bot.migrations` (`ws-bot-migrate`): upgrade the gateway's database, then exit."""

from __future__ import annotations

from shared.migrate import upgrade_from_settings
from ws_bot.migrations import MIGRATIONS
from ws_bot.settings import get_settings


def main() -> None:
    upgrade_from_settings(get_settings, "ws_bot", lambda _: MIGRATIONS)


if __name__ == "__main__":
    main()
