"""Escalations: the alert to staff, its reminders when nobody acknowledges, acknowledge and
resolve by authorised staff, and the conversation between staff and patient meanwhile.

- `wording`: what staff read (the alert, reminders, outcomes) and the alert's buttons;
- `alerts`: raising or updating an alert from a report;
- `actions`: acknowledge, resolve, the resolution note;
- `conversation`: staff replies to the patient (what the patient writes reaches staff through
  `bot.services.patient_words`);
- `timers`: reminder rounds, and the list of open alerts.
The queries are in `bot.db.escalation_queries`.
"""

from bot.services.escalations.actions import (
    Refusal,
    StaffAction,
    acknowledge,
    ask_outcome,
    attach_note_prompt,
    resolve,
)
from bot.services.escalations.alerts import raise_for
from bot.services.escalations.conversation import staff_reply
from bot.services.escalations.timers import OpenEscalation, list_open, next_timer_at, run_timers
from bot.services.escalations.wording import REMINDER_ROUNDS, alert_buttons, alert_text

__all__ = [
    "REMINDER_ROUNDS",
    "OpenEscalation",
    "Refusal",
    "StaffAction",
    "acknowledge",
    "alert_buttons",
    "alert_text",
    "ask_outcome",
    "attach_note_prompt",
    "list_open",
    "next_timer_at",
    "raise_for",
    "resolve",
    "run_timers",
    "staff_reply",
]
