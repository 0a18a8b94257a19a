"""Linking a wallet (issue 17): the user picks an allowance, approves a grant at their wallet
(its sign-in proves the wallet theirs), and from then on the wallet is verified: payments may
leave it, and "you were paid" about it reaches this user only.

A sweep follows pending links at op_api (`POST /links/{id}/confirm`) until they end; each end
is a conditional update, so it is told once across replicas. When a link becomes active, the
user's older links are revoked (a new allowance replaces the old one only once approved), and
any other number that had the same wallet verified loses it and is told.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from shared.contracts import Allowance, LinkCreate, LinkStatus, LinkView, UnderstandResponse
from shared.request_id import request_id_scope
from ws_bot import allowances, templates, user_store, window
from ws_bot.backends import Refused, Unavailable
from ws_bot.dialog import Context
from ws_bot.incoming import Incoming
from ws_bot.link_store import LIVE, VERIFIED, Link, LinkState, LinkStore
from ws_bot.metrics import BACKEND_UNAVAILABLE
from ws_bot.notices import Notifier
from ws_bot.periodic import Periodic
from ws_bot.texts import t

logger = logging.getLogger(__name__)

_ENDED = {
    LinkStatus.REJECTED: LinkState.REJECTED,
    LinkStatus.EXPIRED: LinkState.EXPIRED,
    LinkStatus.FAILED: LinkState.FAILED,
    LinkStatus.REVOKED: LinkState.FAILED,  # revoked before it was ever active here
}


def _allowance(view: LinkView, asked: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the link allows, as op_api says (or as asked, while op_api does not say), in the
    period the user chose: op_api's is shorter when INTERVAL_OVERRIDE is set."""
    if view.allowance is not None:
        return {
            "amount": view.allowance.value,
            "assetCode": view.allowance.asset_code,
            "interval": (asked or {}).get("interval") or view.interval or "",
        }
    return asked


class Linking:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rows = LinkStore(ctx.store)
        self.notices = Notifier(ctx.store, ctx.say)
        self.following = Periodic("wallet-links", self.sweep, self._pause)

    # ------------------------------------------------------------------ in the chat

    async def offer(self, user: user_store.User, key: str = "link_choose", lead: str = "") -> None:
        """The allowance list (after `lead`, e.g. "wallet registered")."""
        body = f"{lead}\n\n{t(user.language, key)}" if lead else t(user.language, key)
        await allowances.offer(self.ctx.say, user, body)

    async def show_wallet(self, user: user_store.User) -> None:
        """ "mi billetera": the address, and whether it is linked (with what allowance)."""
        current = await self.rows.current(user)
        lang, url = user.language, user.wallet_url
        if current is None:
            await self.ctx.say.text(user.wa_id, t(lang, "your_wallet_unlinked", url=url))
            return
        what = allowances.describe(lang, current.allowance if current.one_tap else None)
        await self.ctx.say.text(user.wa_id, t(lang, "your_wallet_linked", url=url, what=what))

    async def change_allowance(self, user: user_store.User) -> None:
        """ "cambiar límite" (or "vincular"): the allowance now, and the list; a new link
        replaces the old one once approved."""
        current = await self.rows.current(user)
        if current is None:
            await self.offer(user)
            return
        what = allowances.describe(user.language, current.allowance if current.one_tap else None)
        lead = t(user.language, "allowance_now", url=current.wallet_url, what=what)
        await self.offer(user, "link_change", lead)

    async def set_allowance(
        self, user: user_store.User, inc: Incoming, answer: UnderstandResponse
    ) -> None:
        """ "set my allowance to 50 a week": straight to the wallet's approval when the amount
        and period are usable, the list otherwise."""
        ctx, lang = self.ctx, user.language
        if answer.amount_issue is not None:  # llm_back's explanation asks for the limit again
            await ctx.say.text(user.wa_id, answer.response)
            return
        asset = user.wallet_asset
        if answer.currency and asset and answer.currency.upper() != asset:
            await ctx.say.text(user.wa_id, t(lang, "currency_mismatch", asset=asset))
        elif answer.monto and answer.recurrence in allowances.INTERVALS:
            try:
                chosen = Allowance(amount=answer.monto, interval=answer.recurrence or "")
            except ValueError:
                chosen = None
            if chosen is not None:
                await self._start(user, inc, chosen)
                return
        await self.change_allowance(user)

    async def pick(self, user: user_store.User, inc: Incoming, code: str) -> None:
        """An allowance tapped: start the link at op_api and send its approval button."""
        try:
            allowance = allowances.allowance(code)
        except KeyError:
            await self.offer(user)
            return
        await self._start(user, inc, allowance)

    async def _start(
        self, user: user_store.User, inc: Incoming, allowance: Allowance | None
    ) -> None:
        """Start the link at op_api and send its approval button."""
        ctx, lang = self.ctx, user.language
        if user.wallet_url is None:
            await ctx.say.text(user.wa_id, t(lang, "ask_wallet"))
            return
        asked = (
            {"amount": allowance.amount, "assetCode": user.wallet_asset or "",
             "interval": allowance.interval}
            if allowance
            else None
        )  # fmt: skip
        try:
            view = await ctx.op.create_link(
                LinkCreate(
                    wallet_url=user.wallet_url,
                    allowance=allowances.asked_of(allowance, ctx.settings.interval_override),
                    idempotency_key=f"link:{inc.message_id}"[:256],
                )
            )
        except Unavailable:
            BACKEND_UNAVAILABLE.labels("op_api").inc()
            await ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        except Refused as exc:
            logger.warning("link refused", extra={"detail": str(exc)})
            await ctx.say.text(user.wa_id, t(lang, "link_refused"))
            return
        now = time.time()
        link = Link(
            id=view.link_id,
            wa_id=user.wa_id,
            wallet_url=user.wallet_url,
            status=LinkState.PENDING,
            allowance=_allowance(view, asked),
            created_at=now,
        )
        await self.rows.add(link, now + ctx.settings.poll_initial_seconds)
        await self._drop_other_pending(user, link.id)
        if view.status != LinkStatus.AWAITING_APPROVAL or not view.confirmation_url:
            await self._settle(link, view)  # op_api already knows how it ended
            return
        what = allowances.describe(lang, link.allowance)
        await ctx.say.url_button(
            user.wa_id,
            t(lang, "link_approve", url=user.wallet_url, what=what),
            t(lang, "btn_link"),
            view.confirmation_url,
        )
        self.following.wake()

    async def unlink(self, user: user_store.User) -> None:
        """ "desvincular": every live link of the user revoked at the wallet; paying needs a
        new link."""
        ctx, lang = self.ctx, user.language
        live = await self.rows.of_user(user.wa_id, LIVE)
        if not live:
            await ctx.say.text(user.wa_id, t(lang, "nothing_to_unlink"))
            return
        for link in live:
            if not await self._revoke(link.id):
                await ctx.say.text(user.wa_id, t(lang, "op_down"))
                return
            await self.rows.move(link.id, LIVE, LinkState.UNLINKED, time.time())
        await ctx.say.text(user.wa_id, t(lang, "unlinked", url=live[0].wallet_url))

    async def _drop_other_pending(self, user: user_store.User, keep: str) -> None:
        """A new try replaces the user's earlier unapproved links (their grants cancelled)."""
        for old in await self.rows.of_user(user.wa_id, (LinkState.PENDING,)):
            if old.id != keep and await self.rows.move(
                old.id, (LinkState.PENDING,), LinkState.REPLACED, time.time()
            ):
                await self._revoke(old.id)

    async def _revoke(self, link_id: str) -> bool:
        """Revoke a link's grant at op_api; True when it is gone (or op_api never had it)."""
        try:
            await self.ctx.op.revoke_link(link_id)
        except Refused as exc:
            logger.info("link not revocable", extra={"link": link_id, "detail": str(exc)})
        except Unavailable:
            logger.warning("op_api unavailable while revoking a link", extra={"link": link_id})
            return False
        return True

    # ------------------------------------------------------------------ following links

    async def _pause(self) -> float:
        return float(self.ctx.settings.poller_tick_seconds)

    async def sweep(self) -> None:
        """Ask op_api about every pending link that is due; settle the ones that ended."""
        now = time.time()
        every = max(self.ctx.settings.poll_initial_seconds, 0.2)
        for link in await self.rows.due(now, now + every):
            with request_id_scope(f"link-{link.id}"[:128]):
                try:
                    view = await self.ctx.op.confirm_link(link.id)
                except Refused as exc:
                    logger.warning("link not readable", extra={"detail": str(exc)})
                    if exc.status == 404:
                        await self._ended(link, LinkState.FAILED)
                    continue
                except Unavailable:
                    logger.warning("op_api unavailable while following a link")
                    continue
                await self._settle(link, view)

    async def _settle(self, link: Link, view: LinkView) -> None:
        if view.status == LinkStatus.ACTIVE:
            await self._activated(link, view)
        elif view.status in _ENDED:
            await self._ended(link, _ENDED[view.status])

    async def _ended(self, link: Link, state: LinkState) -> None:
        if not await self.rows.move(link.id, (LinkState.PENDING,), state, time.time()):
            return  # replaced, or another replica told the user
        user = await self.ctx.store.users.get(link.wa_id)
        if user is None or user.wallet_url != link.wallet_url:
            return
        reason = t(user.language, f"link_reason_{state.value}")
        body = t(user.language, "link_not_done", url=link.wallet_url, reason=reason)
        await allowances.offer(self.ctx.say, user, body)

    async def _activated(self, link: Link, view: LinkView) -> None:
        now = time.time()
        if not await self.rows.move(link.id, (LinkState.PENDING,), LinkState.ACTIVE, now):
            return  # replaced meanwhile, or another replica took it
        user = await self.ctx.store.users.get(link.wa_id)
        if user is None or user.wallet_url != link.wallet_url:
            # The user registered another wallet meanwhile: this grant is of no use.
            if await self.rows.move(link.id, (LinkState.ACTIVE,), LinkState.REPLACED, now):
                await self._revoke(link.id)
            return
        for other in await self.rows.of_wallet(link.wallet_url, VERIFIED):
            if other.wa_id != link.wa_id and await self.rows.move(
                other.id, VERIFIED, LinkState.TAKEN, now
            ):
                await self._revoke(other.id)
                await self._tell_taken(other)
        for mine in await self.rows.of_user(link.wa_id, LIVE):
            if mine.id != link.id and await self.rows.move(mine.id, LIVE, LinkState.REPLACED, now):
                await self._revoke(mine.id)  # the old allowance, or the old wallet's grant
        what = allowances.describe(user.language, _allowance(view, link.allowance))
        body = t(user.language, "link_active", what=what)
        if window.is_open(await self.ctx.store.users.last_inbound(user.wa_id), now):
            await self.ctx.menu(user, body)  # what to do next, now that paying is possible
            return
        await self.notices.notify(  # approved long after the tap: only a template reaches
            user.wa_id,
            user.language,
            body,
            templates.WALLET_NOTICE,
            {"wallet": link.wallet_url, "notice": what},
        )

    async def _tell_taken(self, link: Link) -> None:
        """The previous number of a wallet linked elsewhere, in its own language."""
        user = await self.ctx.store.users.get(link.wa_id)
        lang = user.language if user else None
        await self.notices.notify(
            link.wa_id,
            lang,
            t(lang, "link_taken", url=link.wallet_url),
            templates.WALLET_NOTICE,
            {"wallet": link.wallet_url, "notice": t(lang, "link_taken_notice")},
        )
