"""Seed data for the TikTok Shop sandbox: a category tree built from real API dumps (see build.py)."""
