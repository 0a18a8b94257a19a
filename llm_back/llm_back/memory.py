"""The context of a message, as ws_bot sends it: llm_back keeps no dialogue state of its own.

ws_bot owns the conversation (the payment draft, the recent turns) and sends both with each
message, so a cancel in ws_bot is a cancel here too, and any llm_back replica can answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts import Intent, UnderstandRequest


@dataclass(frozen=True)
class Turn:
    text: str
    intent: str
    monto: str | None
    currency: str | None
    destinatario: str | None

    @property
    def complete(self) -> bool:
        return self.monto is not None and self.destinatario is not None


def recent(req: UnderstandRequest) -> list[Turn]:
    """The recent turns, oldest first."""
    return [Turn(t.text, t.intent, t.monto, t.currency, t.destinatario) for t in req.recent]


def pending(req: UnderstandRequest) -> Turn | None:
    """The unfinished payment this message may complete (None when there is none)."""
    d = req.draft
    if d is None:
        return None
    turn = Turn("", str(Intent.SEND_PAYMENT), d.monto, d.currency, d.destinatario)
    return None if turn.complete else turn
