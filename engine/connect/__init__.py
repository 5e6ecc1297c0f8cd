"""Connecting tokbridge to the Ecwid store and the TikTok shop, checking the setup, disconnecting.

`engine.connect.flows`: the OAuth flows (one-shot loopback callback or a pasted code), the owner-only
secrets file, shop and warehouse choice, webhook subscriptions, and `check_connection`, which names
every missing prerequisite. `engine.connect.disconnect`: stop every listing (through the apply
executor), remove webhooks, stop order import, forget the tokens.
"""
