"""The tables: patients, invites, courses, sessions, the outbox, staff, audit, the update inbox."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy import Enum as SaEnum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.db.types import LevelType, UtcDateTime
from bot.domain.checkin import CheckinStage
from bot.domain.triage import Level

# Stable constraint names, so migrations name the same thing on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def _enum(cls: type[enum.Enum]) -> SaEnum:
    # Stored as plain strings (no native ENUM type): adding a value needs no type migration.
    return SaEnum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=24,
        values_callable=lambda e: [m.value for m in e],
    )


class PatientStatus(enum.StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNREACHABLE = "unreachable"


class SessionStatus(enum.StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class MessageStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its due time (also: held while the patient cannot receive)
    SENDING = "sending"  # claimed by one worker
    SENT = "sent"
    FAILED = "failed"  # Telegram refused it for good
    EXPIRED = "expired"  # no longer useful: not sent late
    UNCERTAIN = "uncertain"  # may have arrived; never repeated for patients
    SKIPPED = "skipped"  # already past its useful time, or squeezed out by quiet hours, at planning
    CANCELLED = "cancelled"  # session cancelled or patient stopped


# Rows a re-plan may rewrite: never one that was sent or may have been.
UNSENT = (MessageStatus.PENDING, MessageStatus.SKIPPED, MessageStatus.CANCELLED)


class MessageKind(enum.StrEnum):
    """What an outbox row is; the first three are protocol steps (StepKind's values)."""

    TIP = "tip"
    REMINDER = "reminder"
    CHECKIN = "checkin"
    CHECKIN_REMINDER = "checkin-reminder"  # an unanswered check-in's question, once more
    CLINIC_MESSAGE = "clinic-message"  # staff writing to the patient through the bot
    ALERT = "alert"  # an escalation in the staff chat
    ALERT_PHOTO = "alert-photo"
    PATIENT_WORDS = "patient-words"  # what the patient wrote while an alert is open
    PATIENT_MESSAGE = "patient-message"  # what the patient wrote, no alert open: "patient wrote"
    PATIENT_COPY = "patient-copy"  # a patient's photo, voice note, video or file, copied to staff
    ESCALATION_REMINDER = "escalation-reminder"
    ESCALATION_DM = "escalation-dm"  # the same reminder to each on-call staff member
    ESCALATION_UNANSWERED = "escalation-unanswered"
    NOTICE = "notice"  # a staff notice (patient stopped, blocked the bot, …)
    # whoever wrote a message passed on is told how it went: staff whether their words reached
    # the patient, a patient that theirs did not reach the clinic
    DELIVERY_REPORT = "delivery-report"


class Priority(enum.IntEnum):
    """The order due outbox rows are claimed in, lowest first: how Telegram's limits (a group
    takes about 20 messages a minute) are spent when more is due than can go at once."""

    EMERGENCY = 0  # alerts, by the escalation's level
    URGENT = 1
    UNUSUAL = 2
    FOLLOW_UP = 3  # reminders, patient words, notices, staff writing to a patient
    ROUTINE = 4  # the plan's tips, reminders and check-ins


class Audience(enum.StrEnum):
    PATIENT = "patient"
    STAFF = "staff"


class StaffRole(enum.StrEnum):
    NURSE = "nurse"
    CLINICIAN = "clinician"
    ADMIN = "admin"


class CheckinStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    UNANSWERED = "unanswered"  # no answer after the reminder: staff see it in a list
    CLOSED = "closed"  # superseded, or left unfinished


class EscalationStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class EscalationOutcome(enum.StrEnum):
    """How staff resolved an alert (stored on the escalation as this code)."""

    CALLED = "c"
    CAME_IN = "i"
    NO_ACTION = "n"


class UpdateStatus(enum.StrEnum):
    RECEIVED = "received"
    HANDLING = "handling"  # claimed by one process (processed_at: when), see services.inbox
    DONE = "done"
    FAILED = "failed"


class Intake(enum.StrEnum):
    """How an update counted against its sender's limits (services.intake)."""

    WORDS = "words"  # a patient's message, answered as usual
    FLOODED = "flooded"  # past the patient's rate: passed on to staff, not answered
    TOLD = "told"  # past the rate, and answered once that the clinic has the messages
    STRANGER = "stranger"  # someone not linked, answered


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16))
    # chosen by staff or by the patient; otherwise Telegram's language is taken at first contact
    is_language_set: Mapped[bool] = mapped_column(default=False, server_default=false())
    timezone: Mapped[str] = mapped_column(String(64))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    status: Mapped[PatientStatus] = mapped_column(_enum(PatientStatus))
    consent_at: Mapped[dt.datetime | None]
    # set when staff were told the patient blocked the bot, so they are told once
    unreachable_reported_at: Mapped[dt.datetime | None]
    # when the patient was last told that what they wrote reached the clinic: told once a
    # burst, not for every message (services.patient_words)
    words_acknowledged_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]

    sessions: Mapped[list[TreatmentSession]] = relationship(back_populates="patient")


class Invite(Base):
    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    # the Telegram user who opened the link and is being asked for consent: the first to open
    # it holds it until they agree or for a few minutes (services.enrolment.HOLD)
    opened_by: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[dt.datetime | None]
    used_at: Mapped[dt.datetime | None]
    # a newer invite for the same patient replaced this one: the link no longer works
    revoked_at: Mapped[dt.datetime | None]


class Course(Base):
    """Sessions of one patient and treatment that follow each other closely: a newer session
    supersedes what is left of the plan of the one before (services.planning)."""

    __tablename__ = "course"
    __table_args__ = (Index("ix_course_patient_treatment", "patient_id", "treatment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    treatment: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class TreatmentSession(Base):
    __tablename__ = "treatment_session"
    __table_args__ = (Index("ix_treatment_session_course", "course_id", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    treatment: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[dt.datetime]
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus))
    created_at: Mapped[dt.datetime]
    # Every session the bot writes has a course. The column may still be NULL, for two
    # reasons: SQLite cannot add a NOT NULL column with a foreign key without rebuilding the
    # table, and a rebuild's DROP TABLE would cascade to the outbox; and rows written by
    # hand or by older tools stay valid. NULL reads as a course of its own.
    # No ON DELETE action: SQLite does not report one given on an added column, so the schema
    # check could not see it; only an empty course is deleted, and a patient's erasure removes
    # courses and sessions in one statement.
    course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"))
    # its place in the course by start among the planned sessions (1, 2, …); a cancelled
    # session keeps the number it last had
    course_number: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))

    patient: Mapped[Patient] = relationship(back_populates="sessions")
    messages: Mapped[list[ScheduledMessage]] = relationship(back_populates="session")


class ScheduledMessage(Base):
    """The outbox: one row a message, the only place the schedule lives."""

    __tablename__ = "scheduled_message"
    __table_args__ = (
        UniqueConstraint("session_id", "step_key", name="uq_scheduled_message_session_step"),
        Index("ix_scheduled_message_due", "status", "due_at"),
        # every wake-up expires pending rows past their useful time: without this index that
        # reads every pending row (1.8 s on SQLite, 0.1 s on PostgreSQL at a million)
        Index("ix_scheduled_message_useful", "status", "useful_until"),
        # the claim takes due rows tier by tier (one range of this index each), never sorting
        # every due row by priority
        Index("ix_scheduled_message_claim", "status", "priority", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audience: Mapped[Audience] = mapped_column(_enum(Audience))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="CASCADE")
    )
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    # staff notices go to a fixed chat with a text rendered when they are queued
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str | None] = mapped_column(Text)
    step_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[MessageKind] = mapped_column(_enum(MessageKind))
    due_at: Mapped[dt.datetime]
    useful_until: Mapped[dt.datetime]
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    # what a message is about, for check-in questions and staff alerts
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id", ondelete="SET NULL"))
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation.id", ondelete="CASCADE"), index=True
    )
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    reply_to_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # a copy of a message a patient sent (copyMessage): their chat and that message's id
    copy_from_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    copy_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # the row this one is sent after, as a reply to it (a copied voice note after the words
    # that introduce it). No foreign key: SQLite cannot add one in place with an ON DELETE
    # action (see course_id), and a row that is gone only means the copy need not wait.
    follows_id: Mapped[int | None] = mapped_column(Integer)
    # Priority: set from the kind and the alert's level when the row is queued
    priority: Mapped[int] = mapped_column(
        SmallInteger, default=Priority.ROUTINE, server_default=text(str(int(Priority.ROUTINE)))
    )
    # Telegram message entities, [type, offset, length] in UTF-16 code units (a patient's words
    # set apart as a blockquote); for a photo, its caption's
    entities: Mapped[list[Any] | None] = mapped_column(JSON)
    # what this message passes on, as (chat, message id): a staff member's reply (to a patient)
    # or a patient's first message of a burst (to staff). Set on the last part of a long text:
    # when it is settled, whoever wrote it is told (staff: sent or not; a patient: not).
    origin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    origin_message_id: Mapped[int | None] = mapped_column(BigInteger)

    session: Mapped[TreatmentSession | None] = relationship(back_populates="messages")
    # the part of a long text this one continues (set by the outbox when it splits one)
    follows: Mapped[ScheduledMessage | None] = relationship(
        primaryjoin="foreign(ScheduledMessage.follows_id) == ScheduledMessage.id",
        remote_side="ScheduledMessage.id",
        lazy="raise",
    )


class Checkin(Base):
    """One check-in and its answers so far: the state machine lives here, not in memory."""

    __tablename__ = "checkin"
    __table_args__ = (
        # one open check-in per patient
        Index(
            "uq_checkin_open_per_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="SET NULL")
    )
    step_key: Mapped[str | None] = mapped_column(String(64))  # None: the patient started it
    status: Mapped[CheckinStatus] = mapped_column(_enum(CheckinStatus))
    stage: Mapped[CheckinStage] = mapped_column(_enum(CheckinStage))
    symptoms: Mapped[list[Any]] = mapped_column(JSON, default=list)  # chosen, in order
    severities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    # the Telegram message carrying the current question's buttons
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    # the last update that moved it on: an update handled again after a crash is not re-applied
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
    opened_at: Mapped[dt.datetime]
    remind_at: Mapped[dt.datetime | None]
    reminded_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(200))


class Report(Base):
    """What a patient said in one check-in, and how it was triaged."""

    __tablename__ = "report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("checkin.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="SET NULL")
    )
    symptoms: Mapped[dict[str, Any]] = mapped_column(JSON)  # name → severity (0-4)
    flags: Mapped[list[Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    photo_file_id: Mapped[str | None] = mapped_column(String(200))
    hours_since: Mapped[float | None]
    level: Mapped[Level] = mapped_column(LevelType())
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime]


class Escalation(Base):
    """An alert to staff and its life: open → acknowledged → resolved."""

    __tablename__ = "escalation"
    __table_args__ = (
        # a new report updates the patient's unresolved escalation instead of opening another
        Index(
            "uq_escalation_unresolved_per_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    level: Mapped[Level] = mapped_column(LevelType())
    status: Mapped[EscalationStatus] = mapped_column(_enum(EscalationStatus))
    opened_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_member.id", ondelete="SET NULL")
    )
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    # the message asking for a resolution note, as (chat, message id): a reply to it is the
    # note. Message ids are per chat: the prompt may be in a staff member's private chat.
    note_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    note_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # reminder rounds sent while nobody acknowledged, and when the next one is due
    rounds: Mapped[int] = mapped_column(Integer, default=0)
    next_reminder_at: Mapped[dt.datetime | None] = mapped_column(index=True)


class StaffMember(Base):
    __tablename__ = "staff_member"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    # on-call staff get a direct message when an alert is not acknowledged in time
    is_on_call: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime]


class AuditEvent(Base):
    """Who did what and when; ids only, never what a patient wrote."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class InboundUpdate(Base):
    """Every Telegram update, stored before it is confirmed to Telegram."""

    __tablename__ = "inbound_update"
    __table_args__ = (
        # the claim: updates waiting, known senders' first, each chat's oldest (services.inbox);
        # the status is written out so that SQLite can prove a query's filter implies it
        Index(
            "ix_inbound_update_waiting",
            "is_stranger",
            "update_id",
            sqlite_where=text("status IN ('received', 'handling')"),
            postgresql_where=text("status IN ('received', 'handling')"),
        ),
        Index(
            "ix_inbound_update_chat_waiting",
            "chat_id",
            "update_id",
            sqlite_where=text("status IN ('received', 'handling')"),
            postgresql_where=text("status IN ('received', 'handling')"),
        ),
        # a sender's recent messages and answers, for their limits (services.intake)
        Index(
            "ix_inbound_update_chat_intake",
            "chat_id",
            "update_id",
            sqlite_where=text("intake IS NOT NULL"),
            postgresql_where=text("intake IS NOT NULL"),
        ),
        Index(
            "ix_inbound_update_intake",
            "intake",
            "received_at",
            sqlite_where=text("intake IS NOT NULL"),
            postgresql_where=text("intake IS NOT NULL"),
        ),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    received_at: Mapped[dt.datetime]
    status: Mapped[UpdateStatus] = mapped_column(_enum(UpdateStatus))
    # dropped once handled: the database keeps no more of what a patient wrote than it needs
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    processed_at: Mapped[dt.datetime | None]
    # the chat whose updates are handled one at a time, in order; None: no chat (handled freely)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    # from someone who was not a linked patient or staff when it was stored: handled after
    # everyone else's, a few at a time
    is_stranger: Mapped[bool] = mapped_column(default=False, server_default=false())
    intake: Mapped[Intake | None] = mapped_column(_enum(Intake))


class StartAttempt(Base):
    """Wrong invite tokens per Telegram user, to slow down guessing."""

    __tablename__ = "start_attempt"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[dt.datetime]
    blocked_until: Mapped[dt.datetime | None]


class Lease(Base):
    """Work only one process may do at a time (polling Telegram), held for a while and renewed;
    when the holder dies the lease runs out and another process takes over."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime]


class Heartbeat(Base):
    """When each part last ran, for `aftercare status` and the watchdog."""

    __tablename__ = "heartbeat"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[dt.datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ChatPace(Base):
    """Telegram's one-message-a-second per chat, kept across processes: no worker claims a
    message for a chat before `busy_until`. A claim holds the chat until the send is answered
    (or the claim lease runs out), then it stays busy a second longer."""

    __tablename__ = "chat_pace"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    busy_until: Mapped[dt.datetime] = mapped_column(index=True)
