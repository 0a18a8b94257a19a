"""Scheduled payments in the chat (issue 17): "mándale 10 a Bob cada mes" → a summary naming
recipient, amount and cadence → Confirm → a link at the payer's wallet whose allowance matches
the schedule, approved there once → the scheduler (`ws_bot.scheduler`) pays each run with it.
"mis pagos programados" lists the live ones, each with a Stop that revokes its link.
"""

from __future__ import annotations

import logging
import time
import uuid
from decimal import ROUND_CEILING, Decimal

from shared.contracts import Allowance, LinkCreate, SendPaymentRequest, UnderstandResponse
from ws_bot import lateness, user_store
from ws_bot.addressbook import AddressBook
from ws_bot.backends import Refused, Unavailable
from ws_bot.buttons import ScheduleTap, StopSchedule
from ws_bot.cadence import DAY, every, parse
from ws_bot.dialog import Context
from ws_bot.draft_store import DRAFT_TTL_SECONDS
from ws_bot.incoming import Incoming
from ws_bot.phrases import clean_name
from ws_bot.schedule_store import LIVE, Schedule, ScheduleStatus, ScheduleStore
from ws_bot.summary import amount_text, quote_of
from ws_bot.texts import plain_reason, short_ref, t
from ws_bot.wallets import WalletError, find_wallet

logger = logging.getLogger(__name__)
S = ScheduleStatus

# The link's allowance is one run's quoted debit plus this margin. Each run is quoted afresh and
# must fit the allowance or it falls back to a consent page (and is reported, not paid): a fee
# or rate that moves by a few cents between runs would otherwise stop a schedule the user
# approved. 10% keeps two runs from fitting into one interval, so the margin cannot pay twice.
MARGIN_PERCENT = 10


def allowance_for(debit_value: str, scale: int) -> str:
    """One run's debit plus the margin, rounded up to the asset's smallest unit."""
    debit = Decimal(debit_value)
    unit = Decimal(1).scaleb(-scale)
    return str((debit * (100 + MARGIN_PERCENT) / 100).quantize(unit, ROUND_CEILING))


def what(lang: str | None, schedule: Schedule) -> str:
    """'10.00 USD a Bob': how every message names a schedule."""
    amount = amount_text(schedule.amount, schedule.asset)
    return t(lang, "what", amount=amount, recipient=clean_name(schedule.recipient_label))


def when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch)) if epoch else "—"


class Schedules:
    def __init__(self, ctx: Context, book: AddressBook) -> None:
        self.ctx = ctx
        self.book = book
        self.rows = ScheduleStore(ctx.store)

    async def start(self, user: user_store.User, inc: Incoming, answer: UnderstandResponse) -> None:
        """A repeating payment asked for: quote one run and show the schedule's summary."""
        ctx, lang = self.ctx, user.language
        assert answer.recurrence
        assert user.wallet_url
        if await ctx.linked(user) is None:  # only a verified wallet pays (the user offered a link)
            return
        if answer.recipients and len(answer.recipients) > 1:
            await ctx.say.text(user.wa_id, t(lang, "schedule_one_recipient"))
            return
        try:
            asked = parse(answer.recurrence)
        except ValueError:
            asked = None
        if asked is None or asked.shortest_seconds < DAY:
            text = t(lang, "schedule_cadence", every=every(lang, answer.recurrence))
            await ctx.say.text(user.wa_id, text)
            return
        if answer.currency and user.wallet_asset and answer.currency.upper() != user.wallet_asset:
            await ctx.say.text(user.wa_id, t(lang, "currency_mismatch", asset=user.wallet_asset))
            return
        label = answer.destinatario or find_wallet(inc.text)
        if not answer.monto or not label:
            await ctx.say.text(user.wa_id, t(lang, "schedule_needs_details"))
            return
        try:
            found = await self.book.find_recipient(user, label)
        except WalletError as exc:
            key = "wallet_insecure" if exc.code == "insecure" else "wallet_invalid"
            await ctx.say.text(user.wa_id, t(lang, key, url=exc.url))
            return
        if found is None or isinstance(found, list):
            text = t(lang, "schedule_unknown_recipient", name=clean_name(label))
            await ctx.say.text(user.wa_id, text)
            return
        receiver = await ctx.check_wallet(user, found.wallet_url)
        if receiver is None:
            return
        await self._quote(user, inc, answer, found.label, found.wa_id, receiver.url)

    async def _quote(
        self,
        user: user_store.User,
        inc: Incoming,
        answer: UnderstandResponse,
        label: str,
        receiver_wa_id: str | None,
        receiver_url: str,
    ) -> None:
        ctx, lang = self.ctx, user.language
        assert answer.monto
        assert answer.recurrence
        assert user.wallet_url
        schedule_id = uuid.uuid4().hex
        shown = t(
            lang, "what", amount=amount_text(answer.monto, user.wallet_asset), recipient=label
        )
        try:
            request = SendPaymentRequest(
                sender_wallet_url=user.wallet_url,
                receiver_wallet_url=receiver_url,
                amount=answer.monto,
                amount_type="receive",  # "10 a Bob cada mes": Bob gets 10 each time
                idempotency_key=f"schedule-quote:{inc.message_id}"[:256],
            )
            # One run quoted to learn its debit (fee included); it is never paid itself.
            view = await ctx.op.send_payment(request)
        except ValueError:
            await ctx.say.text(user.wa_id, t(lang, "schedule_needs_details"))
            return
        except Unavailable:
            await ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        except Refused as exc:
            reason = plain_reason(lang, str(exc))
            ref = short_ref(schedule_id)
            await ctx.say.text(
                user.wa_id, t(lang, "payment_refused", what=shown, reason=reason, ref=ref)
            )
            return
        await ctx.cancel_at_op(view.payment_id)
        debit = view.debit_amount
        if debit is None or view.status.is_final:
            reason = plain_reason(lang, view.failure_reason or view.status.value)
            ref = short_ref(schedule_id)
            await ctx.say.text(
                user.wa_id, t(lang, "payment_refused", what=shown, reason=reason, ref=ref)
            )
            return
        allowance = debit.model_dump(by_alias=True)
        allowance["value"] = allowance_for(debit.value, debit.asset_scale)
        quote = quote_of(view, lang or "es")
        schedule = Schedule(
            id=schedule_id,
            wa_id=user.wa_id,
            status=S.PROPOSED,
            amount=answer.monto,
            asset=debit.asset_code,
            recipient_label=label,
            receiver_wallet=receiver_url,
            receiver_wa_id=receiver_wa_id,
            sender_wallet=user.wallet_url,
            cadence=answer.recurrence.upper(),
            # The cadence asked for, unless a development setting shortens every schedule.
            interval=ctx.settings.interval_override or answer.recurrence.upper(),
            allowance=allowance,
            quote={key: quote[key] for key in ("debit", "receive", "fee")},
            source_message_id=inc.message_id,
        )
        await self.rows.add(schedule)
        body = t(
            lang,
            "schedule_summary",
            what=what(lang, schedule),
            every=every(lang, schedule.cadence),
            debit=quote["debit"],
            fee=quote["fee"],
            allowance=f"{allowance['value']} {debit.asset_code}",
            margin=MARGIN_PERCENT,
        )
        await ctx.say.buttons(
            user.wa_id,
            body,
            [
                (t(lang, "btn_confirm"), ScheduleTap(schedule.id, True).to_str()),
                (t(lang, "btn_cancel"), ScheduleTap(schedule.id, False).to_str()),
            ],
        )

    async def tap(self, user: user_store.User, inc: Incoming, tap: ScheduleTap) -> None:
        """Confirm: link the wallet with the schedule's allowance (approved there once)."""
        ctx, lang = self.ctx, user.language
        schedule = await self.rows.get(tap.schedule_id)
        if schedule is None or schedule.wa_id != user.wa_id:
            await ctx.say.text(user.wa_id, t(lang, "schedule_gone"))
            return
        named = {"what": what(lang, schedule), "every": every(lang, schedule.cadence)}
        if not tap.confirm:
            cancelled = await self.rows.move(schedule.id, (S.PROPOSED,), status=S.CANCELLED)
            await ctx.say.text(
                user.wa_id, t(lang, "schedule_cancelled" if cancelled else "schedule_gone", **named)
            )
            return
        if await lateness.refuse(ctx.say, lang, inc):  # an old tap never starts money moving
            return
        now = time.time()
        stale = schedule.created_at < now - DRAFT_TTL_SECONDS
        if stale and await self.rows.move(schedule.id, (S.PROPOSED,), status=S.CANCELLED):
            await ctx.say.text(user.wa_id, t(lang, "schedule_expired", **named))
            return
        won = await self.rows.move(
            schedule.id,
            (S.PROPOSED,),
            status=S.LINKING,
            confirmed_by=inc.message_id,
            next_check_at=now + ctx.settings.poll_initial_seconds,
        )
        if not won:
            schedule = await self.rows.get(schedule.id)
            assert schedule is not None
            # The same tap handled again after a crash is still the winner.
            if not (schedule.status == S.LINKING and schedule.confirmed_by == inc.message_id):
                key = "schedule_confirmed" if schedule.status in LIVE else "schedule_gone"
                await ctx.say.text(user.wa_id, t(lang, key, **named))
                return
        request = LinkCreate(
            wallet_url=schedule.sender_wallet,
            allowance=Allowance(amount=schedule.allowance["value"], interval=schedule.interval),
            idempotency_key=f"schedule:{schedule.id}",  # a repeated Confirm: the same link
        )
        try:
            link = await ctx.op.create_link(request)
        except Unavailable:
            await self.rows.move(schedule.id, (S.LINKING,), status=S.PROPOSED, confirmed_by=None)
            await ctx.say.text(user.wa_id, t(lang, "op_down"))
            return
        except Refused as exc:
            await self.rows.move(schedule.id, (S.LINKING,), status=S.ENDED)
            reason = plain_reason(lang, str(exc))
            await ctx.say.text(user.wa_id, t(lang, "schedule_ended", reason=reason, **named))
            return
        await self.rows.move(schedule.id, (S.LINKING,), link_id=link.link_id)
        if link.confirmation_url:
            await ctx.say.url_button(
                user.wa_id,
                t(lang, "schedule_approve", **named),
                t(lang, "btn_approve_schedule"),
                link.confirmation_url,
            )

    async def confirm_typed(self, user: user_store.User, inc: Incoming) -> bool:
        """'sí' typed at a schedule's summary (when it is newer than any payment summary): its
        Confirm; False when no schedule summary is waiting."""
        proposed = await self.rows.newest_proposed(user.wa_id)
        if proposed is None or proposed.created_at < time.time() - DRAFT_TTL_SECONDS:
            return False
        draft = await self.ctx.store.drafts.current(user.wa_id)
        asked_at = float((user.pending or {}).get("at") or 0)  # a batch or request summary
        if (draft is not None and draft.updated_at > proposed.created_at) or (
            asked_at > proposed.created_at
        ):
            return False  # a later summary is waiting: the "sí" is for it
        await self.tap(user, inc, ScheduleTap(proposed.id, True))
        return True

    async def cancel_proposed(self, user: user_store.User) -> bool:
        """'cancel' typed: the schedule summary waiting for its Confirm is cancelled (told);
        False when none was waiting. Live schedules are stopped from their list, not here."""
        proposed = await self.rows.newest_proposed(user.wa_id)
        if proposed is None or proposed.created_at < time.time() - DRAFT_TTL_SECONDS:
            return False
        if not await self.rows.move(proposed.id, (S.PROPOSED,), status=S.CANCELLED):
            return False
        lang = user.language
        named = {"what": what(lang, proposed), "every": every(lang, proposed.cadence)}
        await self.ctx.say.text(user.wa_id, t(lang, "schedule_cancelled", **named))
        return True

    async def show(self, user: user_store.User) -> None:
        """'mis pagos programados': the live schedules, each with a Stop row."""
        ctx, lang = self.ctx, user.language
        live = await self.rows.of_user(user.wa_id)
        if not live:
            await ctx.say.text(user.wa_id, t(lang, "schedules_none"))
            return
        lines = [t(lang, "schedules_header")]
        rows = []
        for schedule in live:
            state = (
                t(lang, "schedule_state_active", next=when(schedule.next_run_at))
                if schedule.status == S.ACTIVE
                else t(lang, "schedule_state_linking")
            )
            named = {"what": what(lang, schedule), "every": every(lang, schedule.cadence)}
            lines.append(t(lang, "schedules_line", state=state, **named))
            title = t(lang, "schedule_stop_row", what=named["what"])
            rows.append((StopSchedule(schedule.id).to_str(), title, named["every"]))
        await ctx.say.choice_list(
            user.wa_id,
            "\n".join(lines),
            t(lang, "btn_stop_schedule"),
            t(lang, "schedules_section"),
            rows,
        )

    async def stop(self, user: user_store.User, tap: StopSchedule) -> None:
        """Stop: no run starts after this, and the link's grant is revoked at the wallet."""
        ctx, lang = self.ctx, user.language
        schedule = await self.rows.get(tap.schedule_id)
        if schedule is None or schedule.wa_id != user.wa_id:
            await ctx.say.text(user.wa_id, t(lang, "schedule_gone"))
            return
        if not await self.rows.move(schedule.id, LIVE, status=S.STOPPED):
            await ctx.say.text(user.wa_id, t(lang, "schedule_gone"))
            return
        named = {"what": what(lang, schedule), "every": every(lang, schedule.cadence)}
        revoked = True
        if schedule.link_id:
            try:
                await ctx.op.revoke_link(schedule.link_id)
            except Refused as exc:  # already revoked or gone: nothing left to pay with
                logger.info("link not revoked", extra={"detail": str(exc)})
            except Unavailable:
                revoked = False
        key = "schedule_stopped" if revoked else "schedule_stopped_unrevoked"
        await ctx.say.text(user.wa_id, t(lang, key, **named))
