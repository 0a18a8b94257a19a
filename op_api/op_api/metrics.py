"""Payment metrics on the shared /metrics endpoint."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PAYMENT_TRANSITIONS = Counter(
    "paguito_op_payment_transitions_total",
    "Payments entering a status",
    ["status"],
)
INITIATION_SECONDS = Histogram(
    "paguito_op_initiation_seconds",
    "Time to initiate a payment (wallets, grants, incoming payment, quote, outgoing grant)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
)
