"""Plain values shared by every layer: frozen dataclasses and str enums, no behaviour beyond derivation.

Money is `decimal.Decimal` end to end; ids from TikTok are strings, ids from Ecwid are ints.
"""
