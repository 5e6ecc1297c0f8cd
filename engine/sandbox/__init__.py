"""Local emulators of the Ecwid REST API v3 and the TikTok Shop Open API (a product feature).

Each is a Starlette app served by uvicorn on 127.0.0.1. They enforce what the real APIs enforce
(auth, signatures, required fields, enums, pagination, rate limits, audits) and can inject faults.
The engine never imports this package; the sandbox imports no layer above the API clients (it
uses their signing and webhook helpers, engine.http's server). `engine/demo.py` drives it.
"""
