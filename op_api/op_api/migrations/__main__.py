"""`python -m op_api.migrations` (`op-api-migrate`): upgrade op_api's database, then exit."""

from __future__ import annotations

from op_api.migrations import migrations
from op_api.settings import get_settings
from shared.migrate import upgrade_from_settings


def main() -> None:
    upgrade_from_settings(get_settings, "op_api", lambda s: migrations(s.db_table_prefix))


if __name__ == "__main__":
    main()
