"""The wallet's tables. Amounts are integer minor units; times are Unix seconds (UTC)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Wallet(Base):
    __tablename__ = "wallets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_name: Mapped[str] = mapped_column(String(200))
    asset_code: Mapped[str] = mapped_column(String(12))
    asset_scale: Mapped[int] = mapped_column(Integer)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[float] = mapped_column(Float)


class WalletKey(Base):
    __tablename__ = "wallet_keys"
    __table_args__ = (UniqueConstraint("wallet", "kid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wallet: Mapped[str] = mapped_column(ForeignKey("wallets.name"))
    kid: Mapped[str] = mapped_column(String(200))
    x: Mapped[str] = mapped_column(String(100))


class Movement(Base):
    """One line of a wallet's statement."""

    __tablename__ = "movements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wallet: Mapped[str] = mapped_column(ForeignKey("wallets.name"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class Grant(Base):
    __tablename__ = "grants"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    client: Mapped[str] = mapped_column(String(1000))
    access: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # pending → approved → finalized (finalization: issued | rejected | revoked)
    state: Mapped[str] = mapped_column(String(16))
    finalization: Mapped[str | None] = mapped_column(String(16), nullable=True)
    continue_id: Mapped[str] = mapped_column(String(36), unique=True)
    continue_token: Mapped[str] = mapped_column(String(64))
    finish_uri: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    client_nonce: Mapped[str | None] = mapped_column(String(500), nullable=True)
    interact_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    interact_nonce: Mapped[str | None] = mapped_column(String(64), nullable=True)
    interact_ref: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    # pending | approved | denied, for interactive grants
    interaction_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last_continued_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class AccessToken(Base):
    __tablename__ = "access_tokens"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    grant_id: Mapped[str] = mapped_column(ForeignKey("grants.id"), index=True)
    value: Mapped[str] = mapped_column(String(64), unique=True)
    management_id: Mapped[str] = mapped_column(String(36), unique=True)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float] = mapped_column(Float)


class IncomingPayment(Base):
    __tablename__ = "incoming_payments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wallet: Mapped[str] = mapped_column(ForeignKey("wallets.name"), index=True)
    client: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    incoming_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    completed: Mapped[bool] = mapped_column(default=False)
    expires_at: Mapped[float] = mapped_column(Float)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    shared_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)


class Quote(Base):
    __tablename__ = "quotes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wallet: Mapped[str] = mapped_column(ForeignKey("wallets.name"), index=True)
    client: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    incoming_id: Mapped[str] = mapped_column(ForeignKey("incoming_payments.id"))
    debit: Mapped[int] = mapped_column(BigInteger)
    receive: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[float] = mapped_column(Float)
    used: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[float] = mapped_column(Float)


class OutgoingPayment(Base):
    __tablename__ = "outgoing_payments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    wallet: Mapped[str] = mapped_column(ForeignKey("wallets.name"), index=True)
    client: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    grant_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    quote_id: Mapped[str] = mapped_column(ForeignKey("quotes.id"), unique=True)
    incoming_id: Mapped[str] = mapped_column(ForeignKey("incoming_payments.id"))
    debit: Mapped[int] = mapped_column(BigInteger)
    receive: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    sent: Mapped[int] = mapped_column(BigInteger, default=0)
    # sending | completed | failed
    state: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
