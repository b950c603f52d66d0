"""Dispatch: claim due outbox rows, send them within Telegram's limits, write back the outcome."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import crashpoints
from bot.db import escalation_queries, queries
from bot.db.models import (
    Audience,
    Checkin,
    CheckinStatus,
    Escalation,
    EscalationStatus,
    MessageKind,
    MessageStatus,
    Patient,
    PatientStatus,
    ScheduledMessage,
    TreatmentSession,
)
from bot.domain.checkin import CheckinStage
from bot.domain.plan import next_allowed_time
from bot.domain.protocol import Step
from bot.errors import (
    DeliveryError,
    PermanentDeliveryError,
    RecipientBlocked,
    TransientDeliveryError,
    UncertainDelivery,
)
from bot.i18n import N_
from bot.services import checkins, outbox
from bot.services.context import Context
from bot.services.notices import patient_ref, queue_staff_notice
from bot.services.outbox import CHASER_KINDS, INTERACTIVE_KINDS, decode_buttons, decode_entities
from bot.services.patient_words import contact_line
from bot.services.ports import Buttons, Entity, Sender
from bot.services.protocols import step_text

log = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send.
STALE_CLAIM = dt.timedelta(minutes=5)
# When Telegram cannot be reached (or answers 5xx) the fault is the network's, not the
# message's: a row waits at most this long between tries, so once Telegram is back everything
# held goes out within half a minute. A try costs one failed request (a refused connection
# fails at once); a growing wait, 30 minutes at the end, left messages late long after an outage.
RETRY_CAP = dt.timedelta(seconds=20)
# Telegram's limits per chat: about one message a second in a private chat, 20 a minute in a
# group. Counted from the answer to the previous send, so they hold whatever the network does.
PRIVATE_CHAT_INTERVAL = dt.timedelta(seconds=1.05)
GROUP_CHAT_INTERVAL = dt.timedelta(seconds=60 / 18)


def chat_interval(chat_id: int, result: int | DeliveryError) -> dt.timedelta:
    """How long a chat stays busy after a send's answer: a refused send (blocked, bad request,
    flood control, a server error) delivered nothing, so the chat is free at once."""
    if isinstance(result, DeliveryError) and not isinstance(result, UncertainDelivery):
        return dt.timedelta(0)
    return GROUP_CHAT_INTERVAL if chat_id < 0 else PRIVATE_CHAT_INTERVAL


# When no connection can be made for a whole batch, Telegram (or the network) is down for
# everyone: the dispatcher stops claiming and tries one message every PROBE_EVERY until one goes
# through, so a long outage costs a request every 10 s, not one per due message every 20 s.
PROBE_EVERY = dt.timedelta(seconds=10)


def _unreachable(result: int | DeliveryError) -> bool:
    return isinstance(result, TransientDeliveryError) and result.unreachable


def backoff(attempts: int) -> dt.timedelta:
    """10 s after the first failed try, then every 20 s (RETRY_CAP)."""
    first = dt.timedelta(seconds=10 * 2 ** min(max(attempts - 1, 0), 8))
    return min(first, RETRY_CAP)


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    expired: int = 0
    deferred: int = 0
    blocked: int = 0


@dataclass(frozen=True)
class _Work:
    row_id: int
    chat_id: int | None
    text: str
    audience: Audience
    patient_id: int | None
    buttons: Buttons | None = None
    photo: str | None = None
    reply_to: int | None = None
    checkin_id: int | None = None
    copy_of: tuple[int, int] | None = None  # (chat id, message id) of a message to copy
    entities: tuple[Entity, ...] = ()


async def _checkin_waiting(db: AsyncSession, checkin_id: int | None) -> bool:
    checkin = await db.get(Checkin, checkin_id) if checkin_id else None
    return (
        checkin is not None
        and checkin.status == CheckinStatus.OPEN
        and checkin.stage == CheckinStage.OVERALL
    )


async def _first_alert_message(
    db: AsyncSession, escalation_id: int, chat_id: int, row_id: int
) -> int | None:
    """Staff messages about an alert are sent as replies to it, so the chat reads as a thread
    (its first message in that chat: message ids are per chat)."""
    stmt = (
        select(ScheduledMessage.telegram_message_id)
        .where(
            ScheduledMessage.escalation_id == escalation_id,
            ScheduledMessage.chat_id == chat_id,
            ScheduledMessage.kind == MessageKind.ALERT,
            ScheduledMessage.telegram_message_id.is_not(None),
            ScheduledMessage.id != row_id,
        )
        .order_by(ScheduledMessage.id)
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


async def _unsent_alert_due_at(
    db: AsyncSession, escalation_id: int, row_id: int
) -> dt.datetime | None:
    """When an alert queued before this row, not yet in the staff chat, is next tried."""
    stmt = (
        select(ScheduledMessage.due_at)
        .where(
            ScheduledMessage.escalation_id == escalation_id,
            ScheduledMessage.kind == MessageKind.ALERT,
            ScheduledMessage.id < row_id,
            ScheduledMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]),
        )
        .order_by(ScheduledMessage.due_at)
        .limit(1)
    )
    return (await db.execute(stmt)).scalar_one_or_none()


def _copy_of(row: ScheduledMessage) -> tuple[int, int] | None:
    if row.copy_from_chat_id is None or row.copy_message_id is None:
        return None
    return row.copy_from_chat_id, row.copy_message_id


# What a row that follows another does meanwhile: waits while that one may still go; the next
# part of a long text is dropped when an earlier part will never arrive (the rest would read
# wrong); otherwise it goes.
_UNSETTLED = (MessageStatus.PENDING, MessageStatus.SENDING)
_LOST = (
    MessageStatus.FAILED,
    MessageStatus.CANCELLED,
    MessageStatus.EXPIRED,
    MessageStatus.SKIPPED,
)


@dataclass(frozen=True)
class _After:
    """Whether a row that follows another goes now, and the message it replies to."""

    go: bool
    reply_to: int | None = None


class Dispatcher:
    """One per process; several processes may run side by side on one database."""

    def __init__(
        self,
        ctx: Context,
        sender: Sender,
        batch: int = 8,
        claim_lease: dt.timedelta = STALE_CLAIM,
    ) -> None:
        # the sender paces itself within Telegram's limits; `batch` bounds how many rows are
        # claimed (and so at risk of an uncertain outcome if the process dies) at a time;
        # a claim older than `claim_lease` belongs to a process that died
        self.ctx = ctx
        self.sender = sender
        self.batch = batch
        self.claim_lease = claim_lease
        self._lock = asyncio.Lock()
        # set while Telegram cannot be reached: the next probe's time
        self.probe_at: dt.datetime | None = None

    async def recover(self) -> int:
        """At start-up: rows a dead worker left mid-send. A patient's may have arrived, so it is
        marked uncertain and never repeated; a staff notice is sent again."""
        now = self.ctx.now()
        async with self.ctx.db.begin() as db:
            rows = await queries.stale_claims(db, now - self.claim_lease)
            for row in rows:
                if row.audience == Audience.STAFF:
                    row.status = MessageStatus.PENDING
                else:
                    row.status = MessageStatus.UNCERTAIN
                    row.last_error = "the sender stopped mid-send: it may have arrived"
        return len(rows)

    async def forget_idle_chats(self) -> int:
        """Per-chat pacing rows of chats nobody has written to for an hour go (they only matter
        for a second); the watchdog calls this, so the table holds the chats of the last hour."""
        async with self.ctx.db.begin() as db:
            return await queries.forget_idle_chats(db, self.ctx.now() - dt.timedelta(hours=1))

    async def dispatch_due(self) -> Tally:
        """Sends everything due now; returns when nothing more is due."""
        tally = Tally()
        if self._lock.locked():
            return tally
        async with self._lock:
            while True:
                now = self.ctx.now()
                if self.probe_at is not None and now < self.probe_at:
                    return tally  # Telegram is unreachable: wait for the next probe
                async with self.ctx.db.begin() as db:
                    tally.expired += await queries.expire_overdue(db, now)
                    claimed = await queries.claim_due(
                        db,
                        now,
                        1 if self.probe_at is not None else self.batch,
                        hold_until=now + self.claim_lease,
                    )
                    loaded = await queries.load_for_sending(db, list(claimed))
                    work = [await self._prepare(db, row_id, now, tally) for row_id in claimed]
                    todo = [w for w in work if w is not None]
                    # a chat whose row was put back (quiet hours, answered) is free again
                    going = {w.row_id for w in todo}
                    await queries.pace_chats(
                        db,
                        {c: now for i, c in claimed.items() if c is not None and i not in going},
                    )
                if not claimed:
                    return tally
                crashpoints.reach("dispatch.claimed")
                outcomes = await asyncio.gather(*(self._send(w) for w in todo))
                crashpoints.reach("dispatch.answered")
                # one write for the batch: a crash before it leaves the rows "sending", which
                # recovery settles as uncertain (patients) or resends (staff); their chats stay
                # held until the claim lease runs out
                async with self.ctx.db.begin() as db:
                    now = self.ctx.now()
                    loaded = await queries.load_for_sending(db, [w.row_id for w, _ in outcomes])
                    for done, result in outcomes:
                        await self._record(db, done, result, now, tally)
                    await queries.pace_chats(
                        db,
                        {
                            w.chat_id: now + chat_interval(w.chat_id, result)
                            for w, result in outcomes
                            if w.chat_id is not None
                        },
                    )
                crashpoints.reach("dispatch.recorded")
                del loaded  # the batch stays in the identity map until here
                if self._note_reachability(outcomes, now):
                    return tally

    def _note_reachability(
        self, outcomes: list[tuple[_Work, int | DeliveryError]], now: dt.datetime
    ) -> bool:
        """Opens or closes the probe-only mode from a batch's outcomes; True while open."""
        if outcomes and all(_unreachable(result) for _, result in outcomes):
            if self.probe_at is None:
                log.warning("Telegram cannot be reached: trying one message every %s", PROBE_EVERY)
            self.probe_at = now + PROBE_EVERY
            return True
        if outcomes and self.probe_at is not None:
            log.warning("Telegram can be reached again: sending what waited")
            self.probe_at = None
        return False

    async def next_due_at(self) -> dt.datetime | None:
        async with self.ctx.db() as db:
            due = await queries.next_due_at(db, self.ctx.now())
        if due is not None and self.probe_at is not None:
            return max(due, self.probe_at)
        return due

    async def _prepare(
        self, db: AsyncSession, row_id: int, now: dt.datetime, tally: Tally
    ) -> _Work | None:
        """Renders a claimed row, or puts it back when it must not go out now."""
        row = await db.get(ScheduledMessage, row_id)
        assert row is not None
        if row.audience == Audience.STAFF:
            return await self._prepare_staff(db, row, now, tally)
        patient = await db.get(Patient, row.patient_id)
        assert patient is not None and patient.telegram_user_id is not None
        allowed = next_allowed_time(now, ZoneInfo(patient.timezone), self.ctx.clinic.quiet)
        # a message staff are writing to the patient right now is not held for the morning
        if allowed > now and row.kind not in INTERACTIVE_KINDS:
            # quiet hours began after it was planned (a retry, a resume): wait for the morning
            row.status = MessageStatus.PENDING
            if allowed >= row.useful_until:
                row.status = MessageStatus.EXPIRED
                row.last_error = "quiet hours last past its useful time"
                tally.expired += 1
            else:
                row.due_at = allowed
                tally.deferred += 1
            return None
        if row.follows_id is not None and not (await self._after(db, row, now, tally)).go:
            return None
        work = _Work(
            row.id,
            patient.telegram_user_id,
            "",
            row.audience,
            patient.id,
            buttons=decode_buttons(row.buttons),
            reply_to=row.reply_to_message_id,
            checkin_id=row.checkin_id,
            entities=decode_entities(row.entities),
        )
        if row.kind == MessageKind.CHECKIN:
            return await self._prepare_checkin(db, row, patient, now, work)
        if row.kind == MessageKind.CHECKIN_REMINDER and not await _checkin_waiting(
            db, row.checkin_id
        ):
            row.status, row.last_error = MessageStatus.CANCELLED, "already answered"
            return None
        session = await db.get(TreatmentSession, row.session_id) if row.session_id else None
        step = self._step(row, session)
        text = self._render(row, session, step, patient)
        if text is None:
            row.status = MessageStatus.FAILED
            row.last_error = f"step {row.step_key!r} is no longer in its protocol"
            tally.failed += 1
            return None
        if (
            step is not None
            and step.hold_while_alert_open
            and await escalation_queries.unresolved_for(db, patient.id) is not None
        ):
            # "back to sauna and exercise" while staff are still looking at a reported
            # problem: the same news, with "check with the clinic first"
            # (docs/clinical.md#already-followed). Sent, not held: a held message would either
            # expire unseen or arrive at a random time once the alert is resolved.
            text = self.ctx.i18n.t(
                patient.language,
                "The usual days without sauna, steam, hot baths and hard exercise are over. "
                "Because {clinic} is still looking at what you reported, please check with "
                "them before you go back to these.",
                clinic=self.ctx.clinic.name,
            )
        return dataclasses.replace(work, text=text)

    def _step(self, row: ScheduledMessage, session: TreatmentSession | None) -> Step | None:
        protocol = self.ctx.protocols.get(session.treatment) if session else None
        if protocol is None:
            return None
        try:
            return protocol.step(row.step_key)
        except KeyError:
            return None

    async def _prepare_checkin(
        self,
        db: AsyncSession,
        row: ScheduledMessage,
        patient: Patient,
        now: dt.datetime,
        work: _Work,
    ) -> _Work:
        existing = await db.get(Checkin, row.checkin_id) if row.checkin_id else None
        if existing is not None and existing.status == CheckinStatus.OPEN:
            # a retry of the same question: the check-in it opened is still the one
            step = await checkins.step_of(db, self.ctx, existing)
            screen = checkins.question(self.ctx, existing, patient, step)
        else:
            screen = await checkins.open_for_step(db, self.ctx, row, patient, now)
        return dataclasses.replace(
            work, text=screen.text, buttons=screen.buttons, checkin_id=row.checkin_id
        )

    async def _prepare_staff(
        self, db: AsyncSession, row: ScheduledMessage, now: dt.datetime, tally: Tally
    ) -> _Work | None:
        if row.chat_id is None:
            row.status = MessageStatus.FAILED
            row.last_error = "no staff chat: set AFTERCARE_STAFF_CHAT_ID"
            tally.failed += 1
            return None
        reply_to = row.reply_to_message_id
        if row.follows_id is not None:
            # a copied photo or voice note comes after the words that introduce it, the next
            # part of a long text after the one before, each as a reply to it
            after = await self._after(db, row, now, tally)
            if not after.go:
                return None
            reply_to = reply_to or after.reply_to
        if row.escalation_id is not None:
            escalation = await db.get(Escalation, row.escalation_id)
            if (
                escalation is not None
                and row.kind in CHASER_KINDS
                and (escalation.status != EscalationStatus.OPEN)
            ):
                row.status, row.last_error = MessageStatus.CANCELLED, "acknowledged"
                return None
            if reply_to is None and row.chat_id == self.ctx.clinic.staff_chat_id:
                reply_to = await _first_alert_message(db, row.escalation_id, row.chat_id, row.id)
                alert_due = None
                if reply_to is None and row.kind != MessageKind.ALERT:
                    alert_due = await _unsent_alert_due_at(db, row.escalation_id, row.id)
                if alert_due is not None:
                    # after the staff chat failed for a while, a reminder (or a photo, or the
                    # patient's words) would otherwise arrive before the alert it is about
                    row.status = MessageStatus.PENDING
                    row.due_at = max(alert_due, now + dt.timedelta(seconds=1))
                    tally.deferred += 1
                    return None
        return _Work(
            row.id,
            row.chat_id,
            row.body or "",
            row.audience,
            row.patient_id,
            buttons=decode_buttons(row.buttons),
            photo=row.photo_file_id,
            reply_to=reply_to,
            copy_of=_copy_of(row),
            entities=decode_entities(row.entities),
        )

    async def _after(
        self, db: AsyncSession, row: ScheduledMessage, now: dt.datetime, tally: Tally
    ) -> _After:
        """A row that follows another (a copy after the words that introduce it, the next part
        of a long text) goes once that one is settled; in the staff chat as a reply to it."""
        before = await db.get(ScheduledMessage, row.follows_id)
        if before is None:
            return _After(go=True)
        if before.status in _UNSETTLED:
            row.status = MessageStatus.PENDING
            row.due_at = max(before.due_at, now + dt.timedelta(seconds=1))
            tally.deferred += 1
            return _After(go=False)
        if row.copy_message_id is None and before.status in _LOST:
            row.status = MessageStatus.CANCELLED
            row.last_error = before.last_error or "an earlier part was not delivered"
            tally.failed += 1
            await self._tell_not_delivered(db, row, now)
            return _After(go=False)
        is_thread = row.audience == Audience.STAFF and before.chat_id == row.chat_id
        return _After(go=True, reply_to=before.telegram_message_id if is_thread else None)

    def _render(
        self,
        row: ScheduledMessage,
        session: TreatmentSession | None,
        step: Step | None,
        patient: Patient,
    ) -> str | None:
        """The row's text: written when queued, or its protocol step's in the patient's
        language (None: the step is gone from its protocol)."""
        if session is None:
            return row.body
        if step is None:
            return None
        clinic = self.ctx.clinic
        return step_text(self.ctx.i18n, step, patient.language, clinic.default_language)

    async def _send(self, work: _Work) -> tuple[_Work, int | DeliveryError]:
        assert work.chat_id is not None
        try:
            if work.copy_of is not None:
                message_id = await self.sender.copy(
                    work.chat_id, *work.copy_of, reply_to=work.reply_to
                )
            else:
                message_id = await self.sender.send(
                    work.chat_id,
                    work.text,
                    buttons=work.buttons,
                    photo=work.photo,
                    reply_to=work.reply_to,
                    entities=work.entities,
                )
        except DeliveryError as err:
            log.info("message %s: %s (%s)", work.row_id, type(err).__name__, err.reason)
            return work, err
        return work, message_id

    async def _record(
        self,
        db: AsyncSession,
        work: _Work,
        result: int | DeliveryError,
        now: dt.datetime,
        tally: Tally,
    ) -> None:
        row = await db.get(ScheduledMessage, work.row_id)
        assert row is not None
        row.attempts += 1
        if not isinstance(result, DeliveryError):
            row.status, row.telegram_message_id, row.sent_at = MessageStatus.SENT, result, now
            row.last_error = None
            if work.checkin_id is not None and row.kind == MessageKind.CHECKIN:
                checkin = await db.get(Checkin, work.checkin_id)
                if checkin is not None:
                    checkin.message_id = result
            tally.sent += 1
            if row.kind == MessageKind.CLINIC_MESSAGE:
                await self._tell_sent(db, row, now)
            return
        err = result
        row.last_error = err.reason
        if isinstance(err, TransientDeliveryError):
            # Telegram did not take it: tried again for as long as it is useful (expired at its
            # useful_until; staff notices after a week), never failed by a count of tries, so
            # an outage or a 429 storm loses no patient message and no staff alert
            delay = backoff(row.attempts)
            if err.retry_after is not None:
                delay = dt.timedelta(seconds=err.retry_after)
            row.status, row.due_at = MessageStatus.PENDING, now + delay
            tally.retried += 1
        elif isinstance(err, UncertainDelivery):
            if work.audience == Audience.STAFF:
                # staff alerts are repeated until someone sees them
                row.status, row.due_at = MessageStatus.PENDING, now + backoff(row.attempts)
                tally.retried += 1
            else:
                row.status = MessageStatus.UNCERTAIN
                tally.uncertain += 1
                await self._tell_not_delivered(db, row, now)
        elif isinstance(err, RecipientBlocked) and work.audience == Audience.PATIENT:
            # held, not failed: it goes out if the patient comes back while it is still useful
            row.status = MessageStatus.PENDING
            tally.blocked += 1
            await self._mark_unreachable(db, work.patient_id, now)
        else:
            assert isinstance(err, PermanentDeliveryError | RecipientBlocked)
            row.status = MessageStatus.FAILED
            tally.failed += 1
            await self._tell_not_delivered(db, row, now)

    async def _tell_sent(self, db: AsyncSession, row: ScheduledMessage, now: dt.datetime) -> None:
        """A staff member's words reached the patient (the last part, so all of it): they are
        told, under their message."""
        patient = await db.get(Patient, row.patient_id) if row.patient_id else None
        if row.origin_chat_id is None or patient is None:
            return
        text = self.ctx.i18n.t(self.ctx.clinic.staff_language, "Sent to {name}.", name=patient.name)
        self._report(db, row, patient, text, now)

    async def _tell_not_delivered(
        self, db: AsyncSession, row: ScheduledMessage, now: dt.datetime
    ) -> None:
        """What someone wrote will not arrive (or may not have): whoever wrote it is told, once
        (only the last part of a long text carries its origin). Staff see Telegram's reason; a
        patient is told the clinic did not get it, and how to reach the clinic."""
        patient = await db.get(Patient, row.patient_id) if row.patient_id else None
        if row.origin_chat_id is None or patient is None:
            return
        reason = row.last_error or "?"
        if row.audience == Audience.PATIENT:
            msgid = (
                N_("Not sure this reached {name}: {reason}")
                if row.status == MessageStatus.UNCERTAIN
                else N_("Could not deliver to {name}: {reason}")
            )
            text = self.ctx.i18n.t(
                self.ctx.clinic.staff_language, msgid, name=patient.name, reason=reason
            )
        elif row.status == MessageStatus.UNCERTAIN:
            return  # staff alerts and patients' words are repeated, never left uncertain
        else:
            text = self._not_received(patient)
        self._report(db, row, patient, text, now)

    def _not_received(self, patient: Patient) -> str:
        lang = patient.language
        sorry = self.ctx.i18n.t(
            lang,
            "Sorry: your message could not be passed on, so {clinic} did not get it.",
            clinic=self.ctx.clinic.name,
        )
        return f"{sorry}\n\n{contact_line(self.ctx, lang)}"

    def _report(
        self, db: AsyncSession, row: ScheduledMessage, patient: Patient, text: str, now: dt.datetime
    ) -> None:
        """A delivery report to whoever wrote what the row passed on, under what they wrote."""
        assert row.origin_chat_id is not None
        key = f"{MessageKind.DELIVERY_REPORT}:{row.id}"
        if row.audience == Audience.PATIENT:
            item = outbox.to_staff(
                MessageKind.DELIVERY_REPORT,
                row.origin_chat_id,
                key,
                text,
                now,
                patient_id=patient.id,
                reply_to=row.origin_message_id,
            )
        else:
            item = outbox.to_patient(
                MessageKind.DELIVERY_REPORT,
                patient.id,
                key,
                text,
                now,
                now + outbox.NOTICE_USEFUL_FOR,
                reply_to=row.origin_message_id,
            )
        outbox.queue(db, item, now)

    async def _mark_unreachable(
        self, db: AsyncSession, patient_id: int | None, now: dt.datetime
    ) -> None:
        assert patient_id is not None
        patient = await db.get(Patient, patient_id)
        assert patient is not None
        patient.status = PatientStatus.UNREACHABLE
        if patient.unreachable_reported_at is None:
            patient.unreachable_reported_at = now
            text = self.ctx.i18n.t(
                self.ctx.clinic.staff_language,
                "Patient {name} ({ref}) has blocked the bot: their aftercare messages are on hold. "
                "Please contact them another way.",
                name=patient.name,
                ref=patient_ref(patient),
            )
            queue_staff_notice(db, self.ctx, patient, "unreachable", text, now)
            queries.add_audit(db, now, "system", "patient.unreachable", f"patient:{patient.id}")
