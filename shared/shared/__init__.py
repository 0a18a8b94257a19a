"""Code the Paguito services share.

- `settings` — the pydantic-settings base every service extends.
- `logging` — JSON logs carrying the request id.
- `request_id` — the X-Request-ID context and ASGI middleware.
- `auth` — the internal bearer-token dependency.
- `http` — the httpx AsyncClient factory (timeouts, retries, request id).
- `http1_transport` — the transport under it: HTTP/1.1 on asyncio streams, parsed by httptools.
- `money` — decimal strings ↔ integer minor units, exactly.
- `contracts` — pydantic models of the internal APIs.
- `app` — the FastAPI factory with /health, /ready and /metrics.
- `db` — the SQLAlchemy async engine (SQLite by default, PostgreSQL by URL).
"""
