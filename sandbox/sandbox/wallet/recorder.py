"""Protocol middleware: applies fault switches and records request/response pairs.

Recorded exchanges (`GET /admin/exchanges`) let tests validate every message a client and the
sandbox traded against the official OpenAPI specs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.wallet.errors import gnap_body, rs_body
from sandbox.wallet.faults import Fault, Faults, classify


class Recorder:
    def __init__(self, limit: int = 5000) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._seq = itertools.count(1)

    def add(self, entry: dict[str, Any]) -> None:
        entry["seq"] = next(self._seq)
        self.entries.append(entry)

    def since(self, seq: int) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["seq"] > seq]

    def clear(self) -> None:
        self.entries.clear()


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


class ProtocolMiddleware:
    def __init__(self, app: ASGIApp, faults: Faults, recorder: Recorder) -> None:
        self.app = app
        self.faults = faults
        self.recorder = recorder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = classify(scope["path"]) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        request_body = bytearray()
        response_body = bytearray()
        response: dict[str, Any] = {}

        async def recording_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.extend(message.get("body", b""))
            return message

        def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = {
                    k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]
                }
            elif message["type"] == "http.response.body":
                response_body.extend(message.get("body", b""))

        async def recording_send(message: Message) -> None:
            capture(message)
            await send(message)

        held: list[Message] = []

        async def holding_send(message: Message) -> None:
            held.append(message)

        fault = self.faults.take(kind, scope["method"], scope["path"])
        if fault is not None and fault.mode == "hang":
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.mode == "error":
            while (await recording_receive()).get("more_body"):
                pass
            await self._fail(kind, fault.status, recording_send)
        elif fault is not None and fault.mode == "late":
            # Done now, answered later: the answer is recorded before it is (maybe) lost.
            await self.app(scope, recording_receive, holding_send)
            for message in held:
                capture(message)
            self._record(kind, scope, request_body, response, response_body, fault)
            await asyncio.sleep(fault.seconds)
            for message in held:
                await send(message)
            return
        else:
            await self.app(scope, recording_receive, recording_send)
        self._record(kind, scope, request_body, response, response_body, fault)

    def _record(
        self,
        kind: str,
        scope: Scope,
        request_body: bytearray,
        response: dict[str, Any],
        response_body: bytearray,
        fault: Fault | None,
    ) -> None:
        self.recorder.add(
            {
                "kind": kind,
                "method": scope["method"],
                "path": scope["path"],
                "query": _text(scope.get("query_string", b"")),
                "request_headers": {
                    k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                },
                "request_body": _text(bytes(request_body)),
                "status": response.get("status"),
                "response_headers": response.get("headers", {}),
                "response_body": _text(bytes(response_body)),
                "time": time.time(),
                "injected_fault": fault is not None and fault.mode == "error",
            }
        )

    @staticmethod
    async def _fail(kind: str, status: int, send: Send) -> None:
        if kind == "auth":
            payload = gnap_body("request_denied", "injected fault")
        else:
            payload = rs_body(status, "injected fault")
        body = json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
