"""Meta's customer-service window: free-form messages reach a user only within 24 hours of the
user's last message to the business; outside it only a template does (error 131047 otherwise)."""

from __future__ import annotations

WINDOW_SECONDS = 24 * 3600.0
# Sent a little before the window closes, a message might still arrive after it: count the last
# minutes as closed (the template is never wrong, the free-form text sometimes is).
SAFETY_SECONDS = 300.0


def is_open(last_inbound: float | None, now: float) -> bool:
    """Whether a free-form message sent now will be delivered."""
    return last_inbound is not None and now - last_inbound < WINDOW_SECONDS - SAFETY_SECONDS
