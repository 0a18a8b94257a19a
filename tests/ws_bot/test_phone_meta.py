"""The sandbox phone as strict as Meta's Cloud API: refusals in Meta's error shape, the 24-hour
customer-service window (131047 in a `failed` status), templates, and sent/delivered/read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.support.processes import free_port, make_spawner
from tests.ws_bot.support import ACCESS_TOKEN, PHONE_ID, phone_command

USER = "15557770001"


class Sink:
    """A webhook receiver standing in for ws_bot: keeps every status the phone posts."""

    def __init__(self) -> None:
        self.statuses: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for entry in body["entry"]:
                    for change in entry["changes"]:
                        sink.statuses.extend(change["value"].get("statuses") or [])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [s for s in self.statuses if predicate(s)]
            if found:
                return found[0]
            time.sleep(0.05)
        raise AssertionError(f"no such status; got {self.statuses}")

    def of(self, message_id: str) -> list[str]:
        return [s["status"] for s in self.statuses if s["id"] == message_id]


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Sink]]:
    spawn, started = make_spawner(tmp_path_factory.mktemp("phone_meta"))
    sink = Sink()
    try:
        proc = spawn("phone", phone_command(f"http://127.0.0.1:{sink.port}/webhook"))
        yield proc.url, sink
    finally:
        for p in reversed(started):
            p.stop()
        sink.server.shutdown()


def graph(url: str, version: str = "v24.0") -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/{version}", headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
    )


def send(url: str, payload: dict[str, Any], version: str = "v24.0") -> httpx.Response:
    body = {"messaging_product": "whatsapp", "to": USER, **payload}
    return graph(url, version).post(f"/{PHONE_ID}/messages", json=body)


def user_writes(url: str, wa_id: str = USER, **action: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{url}/api/users/{wa_id}/messages", json={"type": "text", "text": "hi", **action}
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def assert_meta_error(r: httpx.Response, code: int | None = None) -> None:
    assert r.status_code >= 400, r.text
    error = r.json()["error"]
    assert set(error) >= {"message", "type", "code", "error_subcode", "fbtrace_id"}, error
    assert error["message"].startswith(f"(#{error['code']})")
    if code is not None:
        assert error["code"] == code, error


def interactive(kind: str, action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": "b"}, "action": action, **extra},
    }


def reply(i: str, title: str) -> dict[str, Any]:
    return {"type": "reply", "reply": {"id": i, "title": title}}


def rows(n: int, prefix: str = "r") -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}", "title": f"{prefix}{i}"} for i in range(n)]


def test_refusals_in_meta_error_shape(phone: tuple[str, Sink]) -> None:
    url, _ = phone
    user_writes(url)  # the window is open: only the checks below can refuse
    bad: dict[str, dict[str, Any]] = {
        "duplicate button ids": interactive(
            "button", {"buttons": [reply("a", "One"), reply("a", "Two")]}
        ),
        "duplicate button titles": interactive(
            "button", {"buttons": [reply("a", "Same"), reply("b", "Same")]}
        ),
        "duplicate row ids": interactive(
            "list",
            {
                "button": "Pick",
                "sections": [
                    {"title": "s", "rows": [{"id": "x", "title": "A"}, {"id": "x", "title": "B"}]}
                ],
            },
        ),
        "duplicate row titles": interactive(
            "list",
            {
                "button": "Pick",
                "sections": [
                    {"title": "s", "rows": [{"id": "x", "title": "A"}, {"id": "y", "title": "A"}]}
                ],
            },
        ),
        "missing section title": interactive(
            "list", {"button": "Pick", "sections": [{"rows": rows(2, "a")}, {"rows": rows(2, "b")}]}
        ),
        "eleven sections": interactive(
            "list",
            {
                "button": "Pick",
                "sections": [{"title": f"s{i}", "rows": rows(1, f"s{i}r")} for i in range(11)],
            },
        ),
        "eleven rows": interactive(
            "list", {"button": "Pick", "sections": [{"title": "s", "rows": rows(11)}]}
        ),
        "row id over 200": interactive(
            "list",
            {
                "button": "Pick",
                "sections": [{"title": "s", "rows": [{"id": "x" * 201, "title": "A"}]}],
            },
        ),
        "image header on a list": interactive(
            "list",
            {"button": "Pick", "sections": [{"title": "s", "rows": rows(2)}]},
            header={"type": "image", "image": {"link": "https://example.org/a.jpg"}},
        ),
        "cta_url without action.name": interactive(
            "cta_url", {"parameters": {"display_text": "Open", "url": "https://example.org"}}
        ),
        "cta_url to javascript:": interactive(
            "cta_url",
            {
                "name": "cta_url",
                "parameters": {"display_text": "Open", "url": "javascript:alert(1)"},
            },
        ),
        "reaction with words": {
            "type": "reaction",
            "reaction": {"message_id": "wamid.x", "emoji": "ok"},
        },
        "unknown template": {
            "type": "template",
            "template": {"name": "no_such_template", "language": {"code": "en"}},
        },
        "template in an unknown language": {
            "type": "template",
            "template": {"name": "paguito_payment_received", "language": {"code": "fr"}},
        },
        "template with missing parameters": {
            "type": "template",
            "template": {
                "name": "paguito_payment_received",
                "language": {"code": "en"},
                "components": [
                    {
                        "type": "body",
                        "parameters": [{"type": "text", "parameter_name": "sender", "text": "Ana"}],
                    }
                ],
            },
        },
        "no recipient": {"to": None, "type": "text", "text": {"body": "x"}},
    }
    for what, payload in bad.items():
        r = send(url, payload)
        assert r.status_code >= 400, what
        assert_meta_error(r)
    assert_meta_error(send(url, {"type": "text", "text": {"body": "x"}}, version="v19.0"), 2635)
    # What Meta accepts stays accepted.
    ok = [
        interactive("button", {"buttons": [reply("a", "One"), reply("b", "Two")]}),
        interactive(
            "list",
            {
                "button": "Pick",
                "sections": [
                    {"title": "s1", "rows": rows(2, "a")},
                    {"title": "s2", "rows": rows(2, "b")},
                ],
            },
        ),
        interactive(
            "cta_url",
            {
                "name": "cta_url",
                "parameters": {"display_text": "Open", "url": "https://example.org"},
            },
        ),
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "👍🏽"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": "🇲🇽"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.x", "emoji": ""}},
        {"to": f"+{USER[:1]} {USER[1:4]} {USER[4:]}", "type": "text", "text": {"body": "plus"}},
    ]
    for payload in ok:
        r = send(url, payload)
        assert r.status_code == 200, (payload, r.text)


def test_uploads_need_messaging_product_type_and_an_allowed_file(phone: tuple[str, Sink]) -> None:
    url, _ = phone
    g = graph(url)
    files = {"file": ("a.ogg", b"OggS-data", "audio/ogg")}
    assert_meta_error(g.post(f"/{PHONE_ID}/media", files=files, data={"type": "audio/ogg"}), 100)
    missing_type = g.post(f"/{PHONE_ID}/media", files=files, data={"messaging_product": "whatsapp"})
    assert_meta_error(missing_type, 100)
    exe = {"file": ("a.exe", b"MZ", "application/x-msdownload")}
    refused = g.post(
        f"/{PHONE_ID}/media",
        files=exe,
        data={"messaging_product": "whatsapp", "type": "application/x-msdownload"},
    )
    assert_meta_error(refused, 131053)
    ok = g.post(
        f"/{PHONE_ID}/media",
        files=files,
        data={"messaging_product": "whatsapp", "type": "audio/ogg"},
    )
    assert ok.status_code == 200
    assert ok.json()["id"]


def test_free_form_outside_the_window_fails_with_131047(phone: tuple[str, Sink]) -> None:
    url, sink = phone
    never_wrote = "15557770002"
    r = send(url, {"to": never_wrote, "type": "text", "text": {"body": "hello?"}})
    assert r.status_code == 200  # accepted by the API, as Meta does…
    mid = r.json()["messages"][0]["id"]
    failed = sink.wait(lambda s: s["id"] == mid and s["status"] == "failed")  # …then failed
    assert failed["errors"][0]["code"] == 131047
    assert failed["recipient_id"] == never_wrote
    assert httpx.get(f"{url}/api/users/{never_wrote}/messages").json() == []
    # A template is always allowed, and rendered for the user.
    template = {
        "name": "paguito_payment_received",
        "language": {"code": "en"},
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "sender", "text": "Ana"},
                    {"type": "text", "parameter_name": "amount", "text": "20.00 USD"},
                ],
            }
        ],
    }
    r = send(url, {"to": never_wrote, "type": "template", "template": template})
    assert r.status_code == 200, r.text
    tid = r.json()["messages"][0]["id"]
    sink.wait(lambda s: s["id"] == tid and s["status"] == "delivered")
    shown = httpx.get(f"{url}/api/users/{never_wrote}/messages").json()
    assert shown[-1]["rendered"] == "💸 Ana sent you 20.00 USD with Paguito."
    # A message 25 hours old does not open the window; one just now does.
    lapsed = "15557770003"
    user_writes(url, lapsed, ageSeconds=25 * 3600)
    late = send(url, {"to": lapsed, "type": "text", "text": {"body": "x"}}).json()["messages"][0][
        "id"
    ]
    sink.wait(lambda s: s["id"] == late and s["status"] == "failed")
    user_writes(url, lapsed)
    fresh = send(url, {"to": lapsed, "type": "text", "text": {"body": "x"}}).json()["messages"][0][
        "id"
    ]
    sink.wait(lambda s: s["id"] == fresh and s["status"] == "delivered")
    # The window can be closed on purpose (tests of what happens a day later).
    closed = httpx.post(f"{url}/api/users/{lapsed}/window", json={"lastInboundAgeSeconds": 90000})
    assert closed.json()["windowOpen"] is False


def test_statuses_sent_delivered_read_and_bsuid_recipients(phone: tuple[str, Sink]) -> None:
    url, sink = phone
    wa_id = "15557770004"
    inbound = user_writes(url, wa_id)
    user_id = inbound["body"]["from_user_id"]
    r = send(url, {"to": None, "recipient": user_id, "type": "text", "text": {"body": "by id"}})
    assert r.status_code == 200, r.text
    mid = r.json()["messages"][0]["id"]
    assert r.json()["contacts"][0]["user_id"] == user_id
    sink.wait(lambda s: s["id"] == mid and s["status"] == "delivered")
    assert sink.of(mid) == ["sent", "delivered"]
    delivered = next(s for s in sink.statuses if s["id"] == mid and s["status"] == "delivered")
    assert delivered["conversation"]["origin"]["type"] == "service"
    assert delivered["pricing"]["category"] == "service"
    user_writes(url, wa_id, text="thanks")  # the user read the chat to answer
    sink.wait(lambda s: s["id"] == mid and s["status"] == "read")
    assert sink.of(mid) == ["sent", "delivered", "read"]
    unknown = send(
        url, {"to": None, "recipient": "US.000000000", "type": "text", "text": {"body": "x"}}
    )
    assert_meta_error(unknown, 100)
