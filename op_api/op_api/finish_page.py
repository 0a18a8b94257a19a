"""The small HTML pages a user's browser sees after the wallet's consent page (finish mode)."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>Paguito</title>
<meta name="viewport" content="width=device-width, initial-scale=1">{refresh}</head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>{title}</h1><p>{message}</p></body></html>"""


def page(title: str, message: str, *, refresh_seconds: int | None = None) -> str:
    """A page; with `refresh_seconds`, one the browser reloads by itself after that long."""
    refresh = (
        f'<meta http-equiv="refresh" content="{int(refresh_seconds)}">'
        if refresh_seconds is not None
        else ""
    )
    return _PAGE.format(title=escape(title), message=escape(message), refresh=refresh)
