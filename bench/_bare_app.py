"""Baselines for the benchmarks, served by uvicorn with the same options as the services
(shared.server.serve) and, like their acks, no access line:

- `POST /webhook`: reads the body and answers 200 (the floor; bench/memory's bare app);
- `POST /webhook-durable`: reads the body and commits it to SQLite before answering 200, the
  plain way: the stdlib `sqlite3` on one dedicated thread, WAL with synchronous=FULL, one
  transaction per request (bench/webhook_ack's baseline: the same durable insert as ws_bot's ack).

`python -m bench._bare_app <port> [<sqlite path>]`
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

app = FastAPI()
_writer = ThreadPoolExecutor(1, thread_name_prefix="bare-writer")
_connection: sqlite3.Connection | None = None
_ACK = b'{"status":"ok"}'


def _insert(body: bytes) -> None:
    global _connection
    if _connection is None:
        _connection = sqlite3.connect(sys.argv[2], timeout=30)
        _connection.execute("PRAGMA journal_mode=WAL")
        _connection.execute("PRAGMA synchronous=FULL")
        _connection.execute(
            "CREATE TABLE IF NOT EXISTS bodies (id INTEGER PRIMARY KEY, body BLOB, at REAL)"
        )
    _connection.execute("INSERT INTO bodies (body, at) VALUES (?, ?)", (body, time.time()))
    _connection.commit()


@app.post("/webhook")
async def webhook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "ok"})


@app.post("/webhook-durable")
async def webhook_durable(request: Request) -> Response:
    body = await request.body()
    await asyncio.get_running_loop().run_in_executor(_writer, _insert, body)
    return Response(_ACK, media_type="application/json")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(
        "bench._bare_app:app",
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
    )
