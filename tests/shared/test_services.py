"""Each service runs alone as a real process; ops endpoints, internal auth, request ids."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.support.processes import TEST_TOKEN, console_script

AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}

_PLATFORM_PEM = (
    Ed25519PrivateKey.generate()
    .private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    .decode()
)
SECRETS = {
    "PRIVATE_KEY_CONTENT": _PLATFORM_PEM.splitlines()[1],  # the key material line
    "META_ACCESS_TOKEN": "meta-access-token-SECRET-1234567",
    "META_APP_SECRET": "meta-app-secret-SECRET-7654321",
    "META_VERIFY_TOKEN": "meta-verify-token-SECRET-0000",
    "OPENAI_API_KEY": "sk-openai-SECRET-abcdefghijkl",
}
WS_ENV = {
    "META_PHONE_ID": "1234567890",
    "META_APP_ID": "42",
    "META_ACCESS_TOKEN": SECRETS["META_ACCESS_TOKEN"],
    "META_APP_SECRET": SECRETS["META_APP_SECRET"],
    "META_VERIFY_TOKEN": SECRETS["META_VERIFY_TOKEN"],
    "GRAPH_API_URL": "http://127.0.0.1:9",
}
SERVICES = {
    "ws_bot": ("ws-bot", WS_ENV),
    "llm_back": (
        "llm-back",
        {"OPENAI_API_KEY": SECRETS["OPENAI_API_KEY"], "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"},
    ),
    "op_api": (
        "op-api",
        {
            # op_api refuses to start without its platform wallet and key: give it both.
            "WALLET_ADDRESS_URL": "https://wallet.example/paguito",
            "KEY_ID": "test-key",
            "PRIVATE_KEY_CONTENT": _PLATFORM_PEM,
        },
    ),
}
# Internal endpoints of each service: every one must refuse a missing or wrong token.
INTERNAL_ENDPOINTS: dict[str, list[tuple[str, str, dict[str, str] | None]]] = {
    "llm_back": [("POST", "/webhook/whatsapp", {"wa_id": "1", "name": "A", "message": "hi"})],
    "op_api": [
        (
            "POST",
            "/send-payment",
            {
                "senderWalletUrl": "https://w.example/a",
                "receiverWalletUrl": "https://w.example/b",
                "amount": "1",
            },
        ),
        ("POST", "/confirm-payment", {"paymentId": "p1"}),
        ("GET", "/payments/p1", None),
        ("POST", "/links", {"walletUrl": "https://w.example/a"}),
        ("GET", "/links/l1", None),
        ("POST", "/links/l1/confirm", None),
        ("DELETE", "/links/l1", None),
        ("POST", "/payments/p1/authorize", None),
    ],
}


@pytest.mark.parametrize("service", SERVICES)
def test_service_starts_alone_and_answers_health(spawn, service: str) -> None:
    script, env = SERVICES[service]
    proc = spawn(service, [console_script(script)], env)
    health = httpx.get(proc.url + "/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["service"] == service
    assert health.headers["x-request-id"]
    metrics = httpx.get(proc.url + "/metrics", headers=AUTH)
    assert metrics.status_code == 200
    assert "paguito_http_requests_total" in metrics.text
    ready = httpx.get(proc.url + "/ready", timeout=15, headers=AUTH)
    assert ready.status_code in (200, 503)
    assert ready.json()["status"] in ("ready", "not_ready")
    bodies = health.text + metrics.text + ready.text + proc.logs()
    for secret in [*SECRETS.values(), TEST_TOKEN]:
        for fragment in (secret, secret[:12], secret[-12:]):
            assert fragment not in bodies, f"{service} leaked part of a secret"


def test_ws_bots_operational_endpoints_need_the_token(spawn) -> None:
    # issue 14 (7): the public gateway served /metrics, /ready, /docs and /openapi.json to anyone.
    script, env = SERVICES["ws_bot"]
    proc = spawn("ws_bot", [console_script(script)], env)
    assert httpx.get(proc.url + "/health").status_code == 200
    for path in ("/metrics", "/ready", "/docs", "/openapi.json", "/redoc"):
        anonymous = httpx.get(proc.url + path, timeout=15)
        assert anonymous.status_code in (401, 404), (path, anonymous.status_code)
        assert "paguito_" not in anonymous.text, path
        assert "openapi" not in anonymous.text, path
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(proc.url + path, headers=AUTH, timeout=15).status_code == 200, path
    assert httpx.get(proc.url + "/ready", headers=AUTH, timeout=15).status_code in (200, 503)


def test_port_variable_moves_the_service(spawn) -> None:
    proc = spawn("llm_back", [console_script("llm-back")], {})
    assert proc.url.endswith(str(proc.port))
    assert httpx.get(proc.url + "/health").status_code == 200


@pytest.mark.parametrize("service", SERVICES)
def test_missing_token_refuses_to_start_with_a_clear_message(service: str) -> None:
    script, env = SERVICES[service]
    result = subprocess.run(
        [console_script(script)],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
    )
    assert result.returncode == 2
    assert "INTERNAL_API_TOKEN" in result.stderr
    for secret in SECRETS.values():
        assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize("service", INTERNAL_ENDPOINTS)
def test_internal_endpoints_need_the_token(spawn, service: str) -> None:
    script, env = SERVICES[service]
    proc = spawn(service, [console_script(script)], env)
    for method, path, body in INTERNAL_ENDPOINTS[service]:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-wrong-token"},
            {"Authorization": f"Basic {TEST_TOKEN}"},
        ):
            r = httpx.request(method, proc.url + path, json=body, headers=headers)
            assert r.status_code == 401, (method, path, headers, r.text)
            assert "token" in r.json()["detail"].lower()
            assert r.headers["www-authenticate"] == "Bearer"


def test_request_id_crosses_services(spawn) -> None:
    """ws_bot's /ready calls llm_back and op_api: the caller's request id reaches their logs."""
    debug = {"LOG_LEVEL": "DEBUG"}  # health probes are logged at DEBUG only
    llm = spawn("llm_back", [console_script("llm-back")], debug)
    op = spawn("op_api", [console_script("op-api")], {**SERVICES["op_api"][1], **debug})
    ws = spawn(
        "ws_bot",
        [console_script("ws-bot")],
        {**WS_ENV, "LLM_BACKEND": llm.url, "OP_BACKEND": op.url, **debug},
    )
    rid = "trace-cross-service-42"
    r = httpx.get(ws.url + "/ready", headers={"X-Request-ID": rid, **AUTH}, timeout=15)
    assert r.headers["x-request-id"] == rid
    assert r.json()["checks"]["llm_back"] == "ok"
    assert r.json()["checks"]["op_api"] == "ok"
    for proc in (ws, llm, op):
        # A service writes its access line after the answer has gone: give it a moment.
        deadline = time.monotonic() + 10
        while True:
            lines = [json.loads(line) for line in proc.logs().splitlines() if line.startswith("{")]
            if any(line["request_id"] == rid for line in lines) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert all("request_id" in line for line in lines)
        assert any(line["request_id"] == rid for line in lines), proc.name


def test_bad_request_ids_are_replaced(spawn) -> None:
    llm = spawn("llm_back", [console_script("llm-back")], {})
    r = httpx.get(llm.url + "/health", headers={"X-Request-ID": "bad id; with spaces?"})
    assert r.headers["x-request-id"] != "bad id; with spaces?"
    assert len(r.headers["x-request-id"]) == 32


def test_uvicorn_entry_points_import() -> None:
    for module in ("ws_bot.main", "llm_back.main", "op_api.main"):
        out = subprocess.run(
            [sys.executable, "-c", f"import {module} as m; print(type(m.app).__name__)"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == "FastAPI"
