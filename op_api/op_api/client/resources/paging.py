"""Cursor pagination of the list endpoints (the Node SDK's `pagination` argument)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Pagination(BaseModel):
    """`first`/`last` items (1–100) after/before `cursor`."""

    model_config = ConfigDict(frozen=True)

    first: int | None = Field(default=None, ge=1, le=100)
    last: int | None = Field(default=None, ge=1, le=100)
    cursor: str | None = None

    @model_validator(mode="after")
    def _one_direction(self) -> Pagination:
        if self.first is not None and self.last is not None:
            raise ValueError("pass first or last, not both")
        return self

    def params(self, wallet_address: str) -> dict[str, str | int]:
        params: dict[str, str | int] = {"wallet-address": wallet_address}
        for key, value in (("first", self.first), ("last", self.last), ("cursor", self.cursor)):
            if value:
                params[key] = value
        return params
