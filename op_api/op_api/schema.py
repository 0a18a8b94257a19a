"""op_api's tables, as SQLAlchemy describes them: for the migrations (`op_api.migrations`,
Alembic) and the tests that check the database has no drift from them. The service does not
import this module at run time (`op_api.store` speaks plain SQL, `shared.sql`, to these tables),
except `PaymentStore.table` / `links_table` while `op_api.link_store` still queries through them.

The token columns are sealed at rest (`op_api.sealing`); here they are column types that seal
and open, in exactly the format `PaymentStore` writes and reads itself.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from op_api.sealing import TokenSealer


class SealedJSON(TypeDecorator[Any]):
    """A JSON column (a stored token: value, management URL, expiry) kept sealed."""

    impl = JSON
    cache_ok = True

    def __init__(self, sealer: TokenSealer) -> None:
        super().__init__()
        self.sealer = sealer

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        # JSON (the impl) encodes this string once more: what `TokenSealer.seal_json` stores.
        stored = self.sealer.seal_json(value)
        return None if stored is None else json.loads(stored)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.sealer.open_json(json.dumps(value))


class SealedText(TypeDecorator[str]):
    """A text column (a continuation token) kept sealed."""

    impl = Text
    cache_ok = True

    def __init__(self, sealer: TokenSealer) -> None:
        super().__init__()
        self.sealer = sealer

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return self.sealer.seal_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return self.sealer.open_text(value)


def build_table(prefix: str, sealer: TokenSealer) -> Table:
    """The payments table; the GNAP token columns are stored sealed (`op_api.sealing`)."""
    metadata = MetaData()
    return Table(
        f"{prefix}payments",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status", String(32), nullable=False, index=True),  # written by lifecycle only
        Column("failure_reason", Text, nullable=True),
        Column("sender", JSON, nullable=True),  # wallet address document
        Column("receiver", JSON, nullable=True),
        Column("debit_amount", JSON, nullable=True),
        Column("receive_amount", JSON, nullable=True),
        Column("sent_amount", JSON, nullable=True),
        Column("received_amount", JSON, nullable=True),
        Column("description", Text, nullable=True),
        Column("incoming_payment_url", Text, nullable=True),
        Column("incoming_token", SealedJSON(sealer), nullable=True),
        Column("quote_url", Text, nullable=True),
        Column("quote_expires_at", DateTime(timezone=True), nullable=True),
        Column("quote_token", SealedJSON(sealer), nullable=True),
        Column("confirmation_url", Text, nullable=True),
        Column("continue_uri", Text, nullable=True),
        Column("continue_token", SealedText(sealer), nullable=True),
        Column("continue_wait", Integer, nullable=True),
        Column("next_poll_at", DateTime(timezone=True), nullable=True),
        Column("continue_claimed_at", DateTime(timezone=True), nullable=True),
        Column("finish_nonce", Text, nullable=True),
        Column("as_finish_nonce", Text, nullable=True),
        Column("outgoing_token", SealedJSON(sealer), nullable=True),
        Column("op_claimed_at", DateTime(timezone=True), nullable=True),
        Column("op_uncertain_since", DateTime(timezone=True), nullable=True),
        Column("op_attempts", Integer, nullable=False, default=0),
        Column("op_next_attempt_at", DateTime(timezone=True), nullable=True),
        Column("outgoing_payment_url", Text, nullable=True),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        Column("sending_since", DateTime(timezone=True), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
        # Added since release 0d3dbba (migration op0002):
        Column("status_reason", Text, nullable=True),
        Column("status_changed_at", DateTime(timezone=True), nullable=True),
        Column("next_check_at", DateTime(timezone=True), nullable=True),
        Column("initiation_failed_at", DateTime(timezone=True), nullable=True),
        Column("interact_ref", SealedText(sealer), nullable=True),
        Column("incoming_is_request", Integer, nullable=True),  # pays a money request (1)
        # Added by migration op0003_batches:
        Column("batch_id", String(64), nullable=True, index=True),
        Column("grant_lead", String(64), nullable=True),  # the batch payment holding its grant
        # Added for linked wallets (migration op0004_links):
        Column("link_id", String(64), nullable=True),  # a one-tap payment's link
        Column("link_reserved", BigInteger, nullable=True),  # minor units held in the allowance
        Column("link_interval", Integer, nullable=True),  # the interval (k) they are held in
        Column("allowance_remaining", JSON, nullable=True),
        Column("fallback_reason", String(32), nullable=True),
    )


def build_batches_table(prefix: str, metadata: MetaData) -> Table:
    """Batches (POST /send-batch): several payments from one sender under one grant. The
    grant itself lives in the row of its lead payment (`payments.grant_lead`)."""
    return Table(
        f"{prefix}batches",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("payment_ids", JSON, nullable=False),  # in the order they were asked for
        Column("shared_grant", Integer, nullable=True),  # 1 one grant, 0 one each, NULL starting
        Column("debit_amount", JSON, nullable=True),  # the total of the quotes' debits
        Column("failure_reason", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


def build_links_table(metadata: MetaData, prefix: str, sealer: TokenSealer) -> Table:
    """Linked wallets (`op_api.links`): a standing grant at a user's wallet and its allowance.
    `spent` is what payments hold of the allowance in interval `spent_interval`."""
    return Table(
        f"{prefix}links",
        metadata,
        Column("id", String(64), primary_key=True),
        Column("idempotency_key", String(256), unique=True, nullable=True),
        Column("fingerprint", String(64), nullable=False),
        Column("wallet_url", Text, nullable=False),
        Column("wallet", JSON, nullable=True),  # wallet address document
        Column("status", String(32), nullable=False, index=True),
        Column("failure_reason", Text, nullable=True),
        Column("allowance", JSON, nullable=True),  # Amount per interval; null: none
        Column("allowance_minor", BigInteger, nullable=True),  # the same, for SQL comparisons
        Column("interval", String(32), nullable=True),  # ISO 8601 duration
        Column("interval_start", DateTime(timezone=True), nullable=True),
        Column("spent_interval", Integer, nullable=True),
        Column("spent", BigInteger, nullable=False, default=0),
        Column("confirmation_url", Text, nullable=True),
        Column("continue_uri", Text, nullable=True),
        Column("continue_token", SealedText(sealer), nullable=True),
        Column("continue_wait", Integer, nullable=True),
        Column("next_poll_at", DateTime(timezone=True), nullable=True),
        Column("continue_claimed_at", DateTime(timezone=True), nullable=True),
        Column("finish_nonce", Text, nullable=True),
        Column("as_finish_nonce", Text, nullable=True),
        Column("interact_ref", SealedText(sealer), nullable=True),
        Column("token", SealedJSON(sealer), nullable=True),
        Column("token_version", Integer, nullable=False, default=0),
        Column("token_claimed_at", DateTime(timezone=True), nullable=True),  # being rotated
        Column("expires_at", DateTime(timezone=True), nullable=False),  # approval deadline
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


def build_metadata(prefix: str, sealer: TokenSealer) -> MetaData:
    """All of op_api's tables (payments, batches, links) under `prefix`."""
    metadata = build_table(prefix, sealer).metadata
    build_batches_table(prefix, metadata)
    build_links_table(metadata, prefix, sealer)
    return metadata
