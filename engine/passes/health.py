"""The health pass: whether tokbridge may write to TikTok, probed from TikTok, kept for `status`.

TikTok can suspend a shop (its write calls are refused and Get Active Shops no longer lists it)
or the seller can deauthorize the app (webhook type 6; every call is refused). Either way the
daemon stops writing to TikTok and keeps importing what it still can; `status` prints the
`what_to_do` line. Webhook type 7 (the grant expires within 30 days) is only a warning until the
expiry passes. The health is kept in the state store (`shop_health`), so it survives restarts and
any process (`status`) can read it without an API call. `probe_health` asks TikTok (Get Active
Shops, which also refreshes an expiring token) and decides the next health from the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from engine.http import ApiError, AuthError
from engine.runtime import NotConnectedError, Runtime
from engine.state import ShopHealthRecord, StateStore


class ShopState(StrEnum):
    OK = "ok"
    EXPIRING = "authorization_expiring"  # still writes; reconnect soon
    SUSPENDED = "suspended"
    DEAUTHORIZED = "deauthorized"


WHAT_TO_DO = {
    ShopState.OK: "",
    ShopState.EXPIRING: "reconnect before the authorization expires: run `tokbridge connect`",
    ShopState.SUSPENDED: "TikTok suspended the shop: appeal in TikTok Seller Center (Account health); "
                         "tokbridge resumes writing by itself once TikTok lists the shop as active again",
    ShopState.DEAUTHORIZED: "the TikTok Shop authorization was revoked: run `tokbridge connect` to reconnect, "
                            "then restart `tokbridge watch`",
}


@dataclass(frozen=True, slots=True)
class ShopHealth:
    state: ShopState = ShopState.OK
    reason: str = ""
    since: float = 0.0
    expires_at: float = 0.0  # type 7: when the grant ends

    @property
    def writable(self) -> bool:
        return self.state in (ShopState.OK, ShopState.EXPIRING)

    @property
    def readable(self) -> bool:
        """A deauthorized app cannot even read TikTok; a suspended shop still answers reads."""
        return self.state is not ShopState.DEAUTHORIZED

    @property
    def what_to_do(self) -> str:
        return WHAT_TO_DO[self.state]

    def describe(self) -> str:
        if self.state is ShopState.OK:
            return "TikTok shop: ok"
        since = datetime.fromtimestamp(self.since, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        head = f"TikTok shop: {self.state.value.replace('_', ' ')} since {since}"
        writes = "" if self.writable else "; tokbridge is not writing to TikTok"
        return f"{head} ({self.reason}){writes}\n  what to do: {self.what_to_do}"


def load_health(state: StateStore) -> ShopHealth:
    record = state.shop_health()
    if record is None:
        return ShopHealth()
    return ShopHealth(state=ShopState(record.state), reason=record.reason, since=record.since,
                      expires_at=record.expires_at)


def save_health(state: StateStore, health: ShopHealth) -> None:
    state.save_shop_health(ShopHealthRecord(health.state.value, health.reason, health.since, health.expires_at))


def health_report(state: StateStore) -> dict[str, object]:
    """The JSON view `status --json` shows under "shop" (`summary` is the text `status` prints)."""
    health = load_health(state)
    return {"state": health.state.value, "reason": health.reason, "writing_to_tiktok": health.writable,
            "what_to_do": health.what_to_do, "summary": health.describe()}


@dataclass(frozen=True, slots=True)
class Probe:
    """What one probe learnt: the health to keep, or None when TikTok could not be asked (keep the last)."""

    health: ShopHealth | None
    error: str = ""


def probe_health(runtime: Runtime, current: ShopHealth) -> Probe:
    """Ask TikTok whether the shop is active; also refreshes an expiring token on the way."""
    now = runtime.clock()
    try:
        active = {shop.id for shop in runtime.tiktok.active_shops()}
    except NotConnectedError as error:
        return Probe(ShopHealth(ShopState.DEAUTHORIZED, str(error), now))
    except AuthError as error:
        return Probe(ShopHealth(ShopState.DEAUTHORIZED, error.message, now))
    except ApiError as error:
        return Probe(None, error.message)
    shop_id = runtime.shop_id
    if shop_id and shop_id not in active:
        return Probe(ShopHealth(ShopState.SUSPENDED, "TikTok does not list the shop as active", now))
    if current.state is ShopState.EXPIRING and current.expires_at > now:
        return Probe(current)  # still active; the grant's end is still ahead
    return Probe(ShopHealth())
