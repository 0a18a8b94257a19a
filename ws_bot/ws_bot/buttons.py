"""What a button or list row carries back when tapped: typed (pywa's `CallbackData`), written
with `.to_str()` and read back with `parse`, both only here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pywa.types.callback import CallbackData


class MenuAction(StrEnum):
    SEND = "send"
    HISTORY = "history"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class MenuTap(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    action: MenuAction


@dataclass(frozen=True, slots=True)
class LanguagePick(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    code: str


@dataclass(frozen=True, slots=True)
class PayTap(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    """Confirm (or cancel) the payment summary of one draft."""

    draft_id: str
    confirm: bool


@dataclass(frozen=True, slots=True)
class AnswerTap(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    """Yes/No to the question the bot asked last (replace a contact? pay again?)."""

    yes: bool


@dataclass(frozen=True, slots=True)
class ContactPick(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    """Which of several contacts with the same first name."""

    alias: str


@dataclass(frozen=True, slots=True)
class AllowancePick(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    """The allowance chosen while linking a wallet (a code of `allowances.CHOICES`)."""

    code: str


@dataclass(frozen=True, slots=True)
class ScheduleTap(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    """Confirm (or cancel) the summary of a scheduled payment (issue 17)."""

    schedule_id: str
    confirm: bool


@dataclass(frozen=True, slots=True)
class StopSchedule(CallbackData):  # type: ignore[no-untyped-call]  # pywa's hook is untyped
    """Stop one scheduled payment (a row of "my scheduled payments")."""

    schedule_id: str


ButtonData = (
    MenuTap
    | LanguagePick
    | PayTap
    | AnswerTap
    | ContactPick
    | AllowancePick
    | ScheduleTap
    | StopSchedule
)
_KINDS: dict[str, type[ButtonData]] = {
    str(kind.__callback_id__): kind
    for kind in (
        MenuTap,
        LanguagePick,
        PayTap,
        AnswerTap,
        ContactPick,
        AllowancePick,
        ScheduleTap,
        StopSchedule,
    )
}
# Summaries sent before typed data existed still carry the old strings.
_LEGACY = {"pay:ok:": True, "pay:no:": False}


def parse(data: str) -> ButtonData | None:
    """The typed data of a tap; None for anything this bot did not send (or a forgery)."""
    data = data[:256]
    for prefix, confirm in _LEGACY.items():
        if data.startswith(prefix):
            return PayTap(data.removeprefix(prefix), confirm)
    kind = _KINDS.get(data.split(CallbackData.__callback_data_sep__, 1)[0])
    if kind is None:
        return None
    try:
        parsed = kind.from_str(data)
    except ValueError:
        return None
    assert isinstance(parsed, kind)
    return parsed


def safe(text: str) -> str:
    """Text without the characters pywa uses as separators (for names carried in a button)."""
    for sep in ("¶", "~", "§", "¤"):
        text = text.replace(sep, "")
    return text
