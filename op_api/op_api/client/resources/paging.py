"""Query parameters of the list endpoints (cursor pagination)."""

from __future__ import annotations


def page_params(
    wallet_address: str, first: int | None, last: int | None, cursor: str | None
) -> dict[str, str | int]:
    if first is not None and last is not None:
        raise ValueError("pass first or last, not both")
    for value in (first, last):
        if value is not None and not 1 <= value <= 100:
            raise ValueError("first/last must be between 1 and 100")
    params: dict[str, str | int] = {"wallet-address": wallet_address}
    if first is not None:
        params["first"] = first
    if last is not None:
        params["last"] = last
    if cursor:
        params["cursor"] = cursor
    return params
