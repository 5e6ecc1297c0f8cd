"""A faithful local emulator of the TikTok Shop Open API (202309) for tests, the demo and
`tokbridge sandbox`. See app.py for the request pipeline and each module for its area.
"""

from engine.sandbox.tiktok.app import TikTokSandbox, start_tiktok_sandbox
from engine.sandbox.tiktok.clock import ManualClock, RealClock

__all__ = ["ManualClock", "RealClock", "TikTokSandbox", "start_tiktok_sandbox"]
