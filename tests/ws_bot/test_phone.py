"""The sandbox phone on its own: a Graph API as strict as Meta's on the limits that bite."""

from __future__ import annotations

from typing import Any

import httpx

from tests.ws_bot.support import ACCESS_TOKEN, PHONE_ID, phone_command


def test_graph_api_refuses_what_meta_refuses(spawn) -> None:
    phone = spawn("phone", phone_command("http://127.0.0.1:9/webhook"))
    graph = httpx.Client(
        base_url=f"{phone.url}/v24.0", headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}
    )

    def send(payload: dict[str, Any]) -> httpx.Response:
        return graph.post(
            f"/{PHONE_ID}/messages",
            json={"messaging_product": "whatsapp", "to": "15551234567", **payload},
        )

    ok = send({"type": "text", "text": {"body": "hi"}})
    assert ok.status_code == 200
    assert ok.json()["messages"][0]["id"].startswith("wamid.")
    too_long = send({"type": "text", "text": {"body": "x" * 4097}})
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == 131009
    four = [{"type": "reply", "reply": {"id": str(i), "title": f"B{i}"}} for i in range(4)]
    buttons = {"type": "button", "body": {"text": "pick"}, "action": {"buttons": four}}
    assert send({"type": "interactive", "interactive": buttons}).status_code == 400
    long_title = [{"type": "reply", "reply": {"id": "1", "title": "x" * 21}}]
    buttons["action"] = {"buttons": long_title}
    assert send({"type": "interactive", "interactive": buttons}).status_code == 400
    rows = [{"id": str(i), "title": f"r{i}"} for i in range(11)]
    lst = {
        "type": "list",
        "body": {"text": "b"},
        "action": {"button": "Pick", "sections": [{"title": "s", "rows": rows}]},
    }
    assert send({"type": "interactive", "interactive": lst}).status_code == 400
    # The token is required; the phone id must be ours.
    assert httpx.post(f"{phone.url}/v24.0/{PHONE_ID}/messages", json={}).status_code == 401
    assert graph.post("/999/messages", json={"messaging_product": "whatsapp"}).status_code == 400
    # The bot being unreachable is reported to whoever acted as the user.
    r = httpx.post(
        f"{phone.url}/api/users/15551234567/messages", json={"type": "text", "text": "x"}
    )
    assert r.status_code == 502
    assert r.json()["webhookStatus"] == 0
    assert (
        httpx.post(f"{phone.url}/api/users/abc/messages", json={"type": "text"}).status_code == 422
    )
