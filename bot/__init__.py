"""Aftercare follow-up bot for aesthetic clinics."""
