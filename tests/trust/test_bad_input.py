"""Bad input against the running services: fuzzing from their own OpenAPI documents, random
webhook payloads, amounts in every shape people type, oversized bodies, and secrets that must
never come back out (logs, /health, /metrics, error bodies)."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from llm_back.parser import parse
from sandbox.phone import meta
from tests.op_api.test_hygiene import _tokens
from tests.support.processes import (
    TEST_TOKEN,
    ServiceProcess,
    console_script,
    free_port,
    service_env,
)
from tests.trust.support import (
    Replicated,
    ask_and_confirm,
    pointer,
    replicated_stack,
    update_body,
)
from tests.ws_bot.support import ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN
from ws_bot.worker import BadUpdate, split_update

pytestmark = pytest.mark.slow

OPENAI_KEY = "sk-trust-secret-" + "7f3a9c1e5b"
AUTH = {"Authorization": f"Bearer {TEST_TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    """The whole stack with every secret set; llm_back holds an OpenAI key (to a fake)."""
    base = tmp_path_factory.mktemp("bad_input")
    from tests.support.processes import make_spawner

    spawn, started = make_spawner(base / "openai")
    try:
        openai = spawn("openai", [console_script("paguito-sandbox"), "openai", "--port", "{port}"])
        llm_env = {"OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": f"{openai.url}/v1"}
        with replicated_stack(base, replicas=1, llm_env=llm_env) as s:
            pem = (s.wallet.data_dir / "paguito-private-key.pem").read_text()
            # The key as inline content (a secret setting) rather than a path.
            op = s.ops[0]
            op.proc.stop()
            op.proc.env = {**op.proc.env, "PRIVATE_KEY_CONTENT": pem}
            op.proc.env.pop("PRIVATE_KEY_PATH", None)
            op.proc.start()
            yield s
    finally:
        for proc in started:
            proc.stop()


# ---------------------------------------------------------------------- schemathesis


def _fuzz(url: str, examples: int = 12) -> list[str]:
    """Every operation of the service's own OpenAPI document, positive and negative data; the
    failures as readable lines (empty when the service behaved as documented)."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # Err raises: a broken document
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def run(case: Any) -> None:
                case.call_and_validate(headers=AUTH, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                continue  # no invalid input exists for an operation without parameters
            except Exception as exc:
                found = getattr(exc, "exceptions", [exc])
                failures += [f"{operation.label} ({mode.value}): {f}"[:400] for f in found]
    return failures


def test_llm_back_answers_every_generated_request_as_documented(stack: Replicated) -> None:
    assert _fuzz(stack.llm.url) == []


def test_op_api_answers_every_generated_request_as_documented(stack: Replicated) -> None:
    assert _fuzz(stack.ops[0].url) == []


# ---------------------------------------------------------------------- webhook payloads

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_message = st.fixed_dictionaries(
    {
        "from": st.one_of(st.text(max_size=16), st.integers()),
        "id": st.one_of(st.text(max_size=40), st.none(), st.integers()),
        "type": st.sampled_from(["text", "interactive", "image", "audio", "contacts", "weird"]),
        "timestamp": st.text(max_size=12),
    },
    optional={"text": _json, "interactive": _json, "image": _json, "audio": _json},
)
_update = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["whatsapp_business_account", "page", ""]),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "id": st.text(max_size=10),
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": st.sampled_from(["messages", "statuses", "other"]),
                                "value": st.one_of(
                                    _json,
                                    st.fixed_dictionaries(
                                        {
                                            "messages": st.lists(
                                                st.one_of(_message, _json), max_size=3
                                            ),
                                            "contacts": st.lists(_json, max_size=2),
                                        }
                                    ),
                                ),
                            }
                        ),
                        max_size=2,
                    ),
                }
            ),
            max_size=2,
        ),
    }
)


@given(st.one_of(_update, _json))
@settings(max_examples=300, deadline=None)
def test_any_webhook_payload_is_split_or_refused_cleanly(payload: Any) -> None:
    """In process: every shape either splits into stored items or is a BadUpdate (a 400)."""
    try:
        items, statuses = split_update(payload)
    except BadUpdate:
        return
    assert all(isinstance(s, dict) for s in statuses)
    for message_id, wa_id, body, sent_at in items:
        assert message_id
        assert wa_id
        assert sent_at >= 0
        assert split_update(json.loads(body))[0][0].message_id == message_id  # it re-splits


def test_random_signed_webhooks_never_break_the_gateway(stack: Replicated) -> None:
    """Over HTTP: correctly signed nonsense gets 200 or 400, never a 5xx, and the bot still
    answers a real user afterwards."""
    statuses: list[int] = []

    @given(st.one_of(_update, _json))
    @settings(
        max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    def post(payload: Any) -> None:
        body = json.dumps(payload).encode()
        r = httpx.post(
            f"{stack.bots[0].url}/webhook",
            content=body,
            headers={"X-Hub-Signature-256": meta.sign(body, APP_SECRET)},
            timeout=10,
        )
        statuses.append(r.status_code)
        assert r.status_code in (200, 400), r.text

    post()
    assert 400 in statuses
    wa_id = str(15550300000 + uuid.uuid4().int % 99999)
    stack.phone.onboard(wa_id, "Nora", pointer(stack.wallet.address("alice")))


# ---------------------------------------------------------------------- the amount parser

_templates_en = ["send {a} to Bob", "please pay Bob {a}", "transfer {a} dollars to Bob"]
_templates_es = ["mándale {a} a Bob", "envía {a} pesos a Bob por favor", "pásale {a} a Bob"]


@given(
    whole=st.integers(min_value=1, max_value=99_999),
    cents=st.one_of(st.none(), st.integers(min_value=0, max_value=99)),
    template=st.sampled_from(_templates_en + _templates_es),
)
@settings(max_examples=300, deadline=None)
def test_the_amount_in_any_payment_sentence_is_read_exactly(
    whole: int, cents: int | None, template: str
) -> None:
    spanish = template in _templates_es
    if cents is None:
        typed, expected = str(whole), Decimal(whole)
    else:
        typed = f"{whole}{',' if spanish else '.'}{cents:02d}"
        expected = Decimal(f"{whole}.{cents:02d}")
    result = parse(template.format(a=typed))
    assert result.intent.value == "send_payment", (template, typed)
    assert result.monto is not None
    assert Decimal(result.monto) == expected, (template, typed, result)
    assert result.destinatario == "Bob"


# ---------------------------------------------------------------------- oversized bodies


def _targets(stack: Replicated) -> list[tuple[str, str, int]]:
    """(service, URL of a POST endpoint, body limit) for every service."""
    return [
        ("ws_bot", f"{stack.bots[0].url}/webhook", 1_048_576),
        ("op_api", f"{stack.ops[0].url}/send-payment", 1_048_576),
        ("llm_back", f"{stack.llm.url}/webhook/whatsapp", 28 * 1_048_576),
    ]


def test_oversized_bodies_are_413_with_or_without_content_length(stack: Replicated) -> None:
    for name, url, limit in _targets(stack):
        big = b'{"pad":"' + b"x" * (limit + 10) + b'"}'
        declared = httpx.post(url, content=big, headers=AUTH, timeout=60)
        assert declared.status_code == 413, (name, declared.status_code)

        def chunks(data: bytes = big) -> Iterator[bytes]:
            for i in range(0, len(data), 1 << 20):
                yield data[i : i + (1 << 20)]

        streamed = httpx.post(url, content=chunks(), headers=AUTH, timeout=60)
        assert streamed.status_code == 413, (name, streamed.status_code)
        assert "limit" in streamed.json()["detail"]


# ---------------------------------------------------------------------- secrets


def _secrets(stack: Replicated) -> dict[str, str]:
    pem = (stack.wallet.data_dir / "paguito-private-key.pem").read_text()
    key_lines = [line for line in pem.splitlines() if line and "-----" not in line]
    found = {
        "INTERNAL_API_TOKEN": TEST_TOKEN,
        "META_APP_SECRET": APP_SECRET,
        "META_ACCESS_TOKEN": ACCESS_TOKEN,
        "META_VERIFY_TOKEN": VERIFY_TOKEN,
        "OPENAI_API_KEY": OPENAI_KEY,
        "PRIVATE_KEY_CONTENT (base64 of the PEM)": base64.b64encode(pem.encode()).decode()[:40],
    }
    found.update({f"private key line {i}": line for i, line in enumerate(key_lines)})
    return found


def test_secrets_never_appear_in_logs_health_metrics_or_error_bodies(stack: Replicated) -> None:
    phone, wallet = stack.phone, stack.wallet
    seen = len(wallet.exchanges())
    # A whole payment, so every secret and GNAP token has been used at least once.
    wa_id = str(15550200000 + uuid.uuid4().int % 99999)
    phone.onboard(wa_id, "Sara", pointer(wallet.address("alice")))
    url = ask_and_confirm(phone, wa_id, "send 1 to " + pointer(wallet.address("bob")))
    n = phone.count(wa_id)
    wallet.answer(url)
    phone.wait_text(wa_id, "Payment sent", after=n, timeout=30)

    procs: list[ServiceProcess] = [stack.bots[0], stack.llm, stack.ops[0].proc]
    bodies: list[str] = []
    wrong = {"Authorization": f"Bearer {TEST_TOKEN[:-3]}xyz"}
    for proc in procs:
        for path in ("/health", "/ready", "/metrics", "/nope", "/openapi.json"):
            bodies.append(httpx.get(proc.url + path, headers=AUTH).text)
        bodies.append(httpx.post(proc.url + "/send-payment", json={}, headers=wrong).text)
        bodies.append(httpx.post(proc.url + "/webhook/whatsapp", json={"x": 1}, headers=AUTH).text)
    bad = update_body("15550000001", "Eve", {"id": "x"})
    bodies.append(
        httpx.post(
            f"{stack.bots[0].url}/webhook",
            content=bad,
            headers={"X-Hub-Signature-256": meta.sign(bad, APP_SECRET[:-1])},
        ).text
    )
    bodies.append(
        httpx.get(
            f"{stack.bots[0].url}/webhook",
            params={"hub.mode": "subscribe", "hub.verify_token": "no", "hub.challenge": "1"},
        ).text
    )
    secrets = _secrets(stack)
    secrets.update({f"GNAP token {t[:4]}…": t for t in _tokens(wallet.exchanges()[seen:])})
    places = {f"{p.name} log": p.logs() for p in procs}
    places["responses"] = "\n".join(bodies)
    leaks = [
        f"{what} in {where}"
        for what, value in secrets.items()
        for where, text in places.items()
        if value in text
    ]
    assert not leaks


def test_an_unreachable_database_never_reveals_its_password(tmp_path) -> None:
    """Start-up against a database that refuses connections: each service exits with a clear
    error, and the password in DATABASE_URL appears nowhere in what it printed."""
    password = "unreachable-pw-77e2"
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    common = {
        "DATABASE_URL": f"postgresql://postgres:{password}@127.0.0.1:{free_port()}/paguito",
        "META_APP_SECRET": APP_SECRET,
        "META_ACCESS_TOKEN": ACCESS_TOKEN,
        "META_PHONE_ID": "100000000000001",
        "WALLET_ADDRESS_URL": "http://127.0.0.1:9/paguito",
        "ALLOW_INSECURE_HTTP": "true",
        "KEY_ID": "k1",
        "PRIVATE_KEY_CONTENT": key.decode(),
    }
    # llm_back keeps no state since ws_bot owns the dialogue: it opens no database at all.
    for script in ("ws-bot", "op-api"):
        env = service_env(common, PORT=str(free_port()), DATA_DIR=str(tmp_path / script))
        done = subprocess.run(
            [console_script(script)], env=env, capture_output=True, timeout=30, check=False
        )
        output = (done.stdout + done.stderr).decode(errors="replace")
        assert done.returncode != 0, (script, output[-2000:])
        assert password not in output, script
