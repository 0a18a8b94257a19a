"""Prometheus counters of the gateway (served by the shared `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter

WEBHOOK_MESSAGES = Counter(
    "paguito_ws_webhook_messages_total",
    "Messages received in webhooks, by whether they were new or already seen",
    ["result"],
)
WEBHOOK_REFUSED = Counter(
    "paguito_ws_webhook_refused_total", "Webhooks refused (signature or body)", ["reason"]
)
WEBHOOK_UNSPLITTABLE = Counter(
    "paguito_ws_webhook_unsplittable_total",
    "Signed, acknowledged webhook bodies that did not split into messages (kept, marked bad)",
)
RATE_LIMITED = Counter("paguito_ws_rate_limited_total", "Messages dropped by the rate limit")
PAYMENTS_FINAL = Counter(
    "paguito_ws_payments_final_total", "Payments that reached a final status", ["status"]
)
BACKEND_UNAVAILABLE = Counter(
    "paguito_ws_backend_unavailable_total", "Times a user was told a service is down", ["service"]
)
NOTICES = Counter(
    "paguito_ws_notices_total",
    "Business-started messages, by template and how they went out (text or template)",
    ["template", "form"],
)
TEMPLATE_FALLBACKS = Counter(
    "paguito_ws_template_fallbacks_total",
    "Free-form notices refused with 131047 (window closed) and re-sent as their template",
    ["template"],
)
DELIVERY_FAILURES = Counter(
    "paguito_ws_delivery_failures_total", "Messages WhatsApp reported failed, by error", ["code"]
)
