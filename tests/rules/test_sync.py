"""Sync rules: intent (list / stop / skip), min_quantity, save mode, isolation of stopped products."""

from __future__ import annotations

from engine.config.types import QuantityPolicy, StopRule
from engine.model.listing import ListingIntent, RuleRef, SaveMode
from engine.rules import evaluate
from tests.rules.build import catalog, config, expr, policy, product

STOP_REF = RuleRef("rules/sync.yaml", 7)


def intents(result: object) -> dict[int, ListingIntent]:
    return {pid: listing.intent for pid, listing in result.listings.items()}  # type: ignore[attr-defined]


def test_stop_skip_list() -> None:
    cfg = config(
        list_when="'TikTok' in product.categories",
        stop=StopRule(when=expr("'Discontinued' in product.categories", "rules/sync.yaml", 9), ref=STOP_REF),
    )
    items = catalog(
        product(1, categories=("TikTok",)),
        product(2, categories=("TikTok",), enabled=False),
        product(3, categories=("TikTok",), quantity=0),
        product(4, categories=("TikTok", "Discontinued")),
        product(5, categories=("Other",)),
    )
    result = evaluate(cfg, items)
    assert intents(result) == {
        1: ListingIntent.LIST,
        2: ListingIntent.STOP,
        3: ListingIntent.STOP,
        4: ListingIntent.STOP,
        5: ListingIntent.SKIP,
    }
    assert result.listings[2].trace["intent"].steps == ("disabled in Ecwid", "stop.when_disabled")
    assert result.listings[5].trace["intent"].steps == ("list.when 'TikTok' in product.categories is false",)


def test_stop_rules_can_be_switched_off() -> None:
    cfg = config(stop=StopRule(when_disabled=False, when_out_of_stock=False, ref=STOP_REF), min_quantity=0)
    result = evaluate(cfg, catalog(product(1, enabled=False), product(2, quantity=0)))
    assert intents(result) == {1: ListingIntent.LIST, 2: ListingIntent.LIST}


def test_min_quantity_stops_or_lists_at_zero() -> None:
    reserve = [policy(quantity=QuantityPolicy(reserve=8))]  # stock 10 lists 2
    stopping = evaluate(config(selling=reserve, min_quantity=5), catalog(product(1)))
    assert intents(stopping) == {1: ListingIntent.STOP}
    keep = StopRule(when_out_of_stock=False, ref=STOP_REF)
    zero = evaluate(config(selling=reserve, min_quantity=5, stop=keep), catalog(product(1)))
    listing = zero.listings[1]
    assert (listing.intent, listing.skus[0].quantity) == (ListingIntent.LIST, 0)
    assert listing.skus[0].trace["quantity"].steps == (
        "stock 10",
        "reserve 8 2",
        "total quantity 2 below list.min_quantity 5: 0",
    )


def test_save_mode() -> None:
    listing = evaluate(config(save_mode="AS_DRAFT"), catalog(product(1))).listings[1]
    assert listing.save_mode is SaveMode.AS_DRAFT


def test_stopped_product_with_broken_content_still_stops() -> None:
    result = evaluate(config(), catalog(product(1, enabled=False, images=(), name="")))
    listing = result.listings[1]
    assert (listing.intent, listing.title, listing.skus) == (ListingIntent.STOP, "", ())
    assert result.action_required == ()


def test_failing_stop_expression_is_action_required_only() -> None:
    cfg = config(stop=StopRule(when=expr("product.nope", "rules/sync.yaml", 9), ref=STOP_REF))
    result = evaluate(cfg, catalog(product(1)))
    assert result.listings == {}
    (item,) = result.action_required
    assert item.rule == "rules/sync.yaml:9"
    assert item.reason.startswith("expression failed: ")
    assert "nope" in item.reason
