"""`amountType`: which side of the payment the amount fixes (unit level; the flows through the
sandbox wallet are in tests/ws_bot/test_real_stack.py and test_conversation_paths.py)."""

from __future__ import annotations

import pytest

from op_api.client.models import WalletAddress
from op_api.initiation import _amount
from shared.contracts import SendPaymentRequest


def _wallet(name: str, asset: str) -> WalletAddress:
    return WalletAddress.model_validate(
        {
            "id": f"https://w.example/{name}",
            "assetCode": asset,
            "assetScale": 2,
            "authServer": "https://auth.w.example",
            "resourceServer": "https://w.example",
        }
    )


def _request(amount_type: str | None = None, asset: str | None = None) -> SendPaymentRequest:
    body = {"senderWalletUrl": "https://w.example/a", "receiverWalletUrl": "https://w.example/b",
            "amount": "20"}  # fmt: skip
    if amount_type:
        body["amountType"] = amount_type
    if asset:
        body["assetCode"] = asset
    return SendPaymentRequest.model_validate(body)


USD_A, USD_B, MXN_C = _wallet("a", "USD"), _wallet("b", "USD"), _wallet("c", "MXN")


def test_send_is_the_default_and_fixes_the_debit() -> None:
    debit, receive = _amount(_request(), USD_A, USD_B)
    assert receive is None
    assert debit is not None
    assert (debit.minor, debit.asset_code) == (2000, "USD")


def test_receive_fixes_what_the_receiver_gets_in_the_same_asset() -> None:
    debit, receive = _amount(_request("receive"), USD_A, USD_B)
    assert debit is None
    assert receive is not None
    assert (receive.minor, receive.asset_code) == (2000, "USD")


def test_across_currencies_the_amount_stays_in_the_currency_named() -> None:
    debit, receive = _amount(_request("receive"), USD_A, MXN_C)
    assert receive is None
    assert debit is not None
    assert debit.asset_code == "USD"
    debit, receive = _amount(_request(asset="MXN"), USD_A, MXN_C)
    assert debit is None
    assert receive is not None
    assert receive.asset_code == "MXN"


def test_an_unknown_amount_type_is_refused() -> None:
    with pytest.raises(ValueError, match="amountType"):
        _request("everything")
