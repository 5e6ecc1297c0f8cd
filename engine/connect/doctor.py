"""`tokbridge doctor`: every prerequisite of selling, each with what to do and where.

Everything `connect check` looks at (Ecwid token and scopes, TikTok authorisation, region,
warehouse, TikTok's listing prerequisites, webhook subscriptions), and what TikTok refuses listings
or shipments over that the connection alone does not show:

- shipping: the sales warehouse's delivery options (none = no seller shipping template), and
  whether every carrier `rules/orders.yaml` maps the Ecwid store's carriers to is one TikTok offers
  for those options (a shipment with another carrier is refused);
- categories: TikTok's category tree for the market is fetched and saved beside the state
  database (`engine.config.categories`), so `validate` checks mapped category ids offline from
  then on; an unknown or non-leaf id is named at its FILE:LINE;
- the daily upload quota tokbridge keeps to (tokbridge.yaml `tiktok.daily_upload_quota`).

Reads only, except the saved category tree. A failed listing prerequisite is also what stops
`apply` and `watch` from creating listings (`engine.passes.readiness`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.config.categories import (
    attribute_diagnostics,
    cache_path,
    category_diagnostics,
    load_tree,
    save_tree,
    size_chart_diagnostics,
    version_for,
)
from engine.connect.flows import (
    Finding,
    check_ecwid,
    check_tiktok,
    connect_environment,
    open_runtime,
)
from engine.http import ApiError
from engine.runtime import Runtime, SetupError
from engine.tiktok.client import TikTokClient

ORDERS_FILE = "rules/orders.yaml"
QUOTA_SETTING = "tokbridge.yaml tiktok.daily_upload_quota"


def doctor(root: str | Path, *, env: Mapping[str, str] | None = None, **runtime_options: Any) -> list[Finding]:
    """Every finding, Ecwid first; the shop-level checks run once TikTok answers for the connected shop."""
    _, token_present = connect_environment(root, env)
    with open_runtime(root, env=env, **runtime_options) as runtime:
        findings = [*check_ecwid(runtime, token_present=token_present), *check_tiktok(runtime)]
        if all(f.ok for f in findings if f.side == "tiktok" and f.item in ("authorization", "region")) \
                and runtime.connected:
            client = runtime.tiktok
            findings += shipping_findings(runtime, client)
            findings += category_findings(runtime, client)
        findings.append(quota_finding(runtime))
    return findings


def shipping_findings(runtime: Runtime, client: TikTokClient) -> list[Finding]:
    """Seller shipping set up on the sales warehouse, and the mapped carriers among TikTok's providers."""
    try:
        warehouse = runtime.warehouse_id()
    except (SetupError, ApiError):  # the warehouse finding already says what is wrong with it
        return []
    options = client.delivery_options(warehouse)
    if not options:
        return [Finding("tiktok", "shipping", False,
                        f"warehouse {warehouse} has no delivery option: the shop has no seller shipping template",
                        "in Seller Center > Shipping > Shipping templates, create a seller shipping template "
                        "for this warehouse (shipping methods and fees do not sync from Ecwid)")]
    providers: dict[str, str] = {}
    for option in options:
        for provider in client.shipping_providers(option.id):
            providers[provider.name.casefold()] = providers[provider.id] = provider.name  # orders.yaml: name or id
    names = ", ".join(o.name for o in options)
    findings = [Finding("tiktok", "shipping", True, f"seller shipping from warehouse {warehouse}: {names}")]
    mapped = runtime.config.orders.carriers
    unknown = {ecwid: tiktok for ecwid, tiktok in mapped.items()
               if tiktok.casefold() not in providers and tiktok not in providers}
    if unknown:
        offered = ", ".join(sorted(set(providers.values())))
        listed = ", ".join(f"{ecwid} -> {tiktok}" for ecwid, tiktok in sorted(unknown.items()))
        findings.append(Finding("tiktok", "carriers", False,
                                f"{ORDERS_FILE} carriers map Ecwid carriers to providers TikTok does not offer for "
                                f"this shop's delivery options: {listed}",
                                f"in {ORDERS_FILE} carriers, map each Ecwid carrier to one of: {offered}; or add "
                                "the carrier to the shipping template in Seller Center > Shipping"))
    elif mapped:
        findings.append(Finding("tiktok", "carriers", True,
                                f"every carrier {ORDERS_FILE} maps is offered by TikTok ({len(mapped)})"))
    return findings


def category_findings(runtime: Runtime, client: TikTokClient) -> list[Finding]:
    """Refresh the saved category tree, then check the mapped category ids against it."""
    config = runtime.config
    version = version_for(config)
    save_tree(config, client.get_categories(category_version=version), fetched_at=runtime.clock())
    tree = load_tree(config)
    assert tree is not None  # just saved
    problems = category_diagnostics(config, tree)
    if not problems:
        return [Finding("tiktok", "categories", True,
                        f"{len(config.categories)} mapped categories are leaves of TikTok's {version} tree "
                        f"(saved to {cache_path(config).name} for offline `validate`)"), *attribute_findings(runtime)]
    return [Finding("tiktok", "categories", False, f"{p.file}:{p.line}: {p.message}",
                    f"edit {p.file}:{p.line}") for p in problems]


def attribute_findings(runtime: Runtime) -> list[Finding]:
    """Refresh the mapped categories' rules, attribute lists and the shop's size chart templates
    (saved for offline `validate` and `plan`), then check the mapped attributes and templates."""
    config = runtime.config
    rules = runtime.category_rules()
    problems = attribute_diagnostics(config, runtime.category_attributes(refresh=True))
    templates = runtime.size_chart_templates()  # saved too, for offline `validate`
    problems += [] if templates is None else size_chart_diagnostics(config, templates)
    sized = sum(1 for r in rules.values() if r.size_chart_required)
    certified = sum(1 for r in rules.values() if any(c.required for c in r.certifications))
    if not problems:
        return [Finding("tiktok", "category rules", True,
                        f"rules and attribute lists of {len(rules)} categories saved ({sized} require a size chart, "
                        f"{certified} a certification; `plan` blocks products without them)")]
    return [Finding("tiktok", "attributes", False, f"{p.file}:{p.line}: {p.message}", f"edit {p.file}:{p.line}")
            for p in problems]


def quota_finding(runtime: Runtime) -> Finding:
    daily = runtime.config.settings.tiktok.daily_upload_quota
    return Finding("tiktok", "upload quota", True,
                   f"at most {daily} new listings a day ({QUOTA_SETTING}); TikTok allows new shops 100 a day and "
                   "1,000 after probation: set 100 while Seller Center shows the shop in probation")
