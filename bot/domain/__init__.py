"""Pure rules: plans from protocols, triage, escalation timing. Standard library only."""
