"""Check-ins: the question, each button press as a step of a state machine in the database,
the report and its triage when the answers are complete, and what the patient is told.

- `wording`: the screens a patient reads (questions, summary, advice);
- `state`: a check-in row as the domain's answers and triage report;
- `opening`: the scheduled question, or one the patient starts;
- `answering`: presses, words and photos, and completing with triage;
- `timers`: the reminder and the expiry;
- `closer`: the extra check-in after a worrying report;
- `words`: danger words in what a patient writes, answered and alerted at once.
The state machine itself is pure, in `bot.domain.checkin`; the queries in `bot.db.checkin_queries`.
"""

from bot.services.checkins.answering import press, write
from bot.services.checkins.opening import (
    PATIENT_CHECKIN_TTL,
    attach_message,
    open_for_step,
    start,
    step_of,
)
from bot.services.checkins.timers import next_timer_at, run_timers, unanswered
from bot.services.checkins.wording import Reply, Screen, advice, question
from bot.services.checkins.words import report_words

__all__ = [
    "PATIENT_CHECKIN_TTL",
    "Reply",
    "Screen",
    "advice",
    "attach_message",
    "next_timer_at",
    "open_for_step",
    "press",
    "question",
    "report_words",
    "run_timers",
    "start",
    "step_of",
    "unanswered",
    "write",
]
