"""Decide the order actions: `plan_orders(inputs, rules) -> Plan`. Pure; no I/O, no clock.

Both directions, as `rules/orders.yaml` says:

- import: a TikTok order not yet imported, placed at or after `import.from` (when set; older ones
  are skipped and listed in the plan's meta), whose `import.when` holds becomes IMPORT_ORDER (an
  order with a SKU tokbridge did not list is held as action-required, or imported with a
  placeholder line, per `unknown_sku`); an order no real order looks like (nothing to import,
  more than MAX_UNITS_PER_LINE units of one SKU, a price that is not positive) is held instead;
- TikTok -> Ecwid: when an imported order's TikTok status differs from the one last synchronised
  and `tiktok_to_ecwid` maps it, UPDATE_ECWID_ORDER sets the Ecwid statuses that differ; a TikTok
  cancellation also restocks the Ecwid items once (`restock_on_cancel`); units cancelled from a live
  order, and TikTok's completed refunds and returns, go onto the same update (`engine.orders.aftersales`);
- Ecwid -> TikTok: the first `ecwid_to_tiktok` rule matching the Ecwid order acts: SHIP_PACKAGE
  while the TikTok order awaits shipment (carrier mapped by `carriers`, unmapped -> action-required),
  CANCEL_ORDER while TikTok still lets the seller cancel;
- a buyer's cancellation request, and a buyer's pending return or refund of an imported order, is
  approved, rejected or surfaced, per `buyer_cancellation` and `returns` (`engine.orders.answers`);
- units TikTok cancelled after the import are surfaced when `restock_on_partial_cancel` is off.

Transitions are edge-triggered (TikTok status vs the recorded one) and guarded by the other
side's current state, so an order that has converged plans no action and nothing loops: our own
Ecwid update never re-triggers a ship or cancel, because the TikTok order has already moved on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from engine.config.types import EcwidToTikTokAction, EcwidToTikTokRule, OrderRules, UnknownSku
from engine.expr import ExpressionError
from engine.model.ecwid_order import EcwidOrder
from engine.model.listing import ActionRequired, RuleRef
from engine.model.plan import (
    Action,
    ActionKind,
    CancelOrder,
    FieldChange,
    ImportOrder,
    Plan,
    RestockItem,
    ShipPackage,
    UpdateEcwidOrder,
)
from engine.model.tiktok_order import (
    Cancellation,
    OrderStatus,
    TikTokOrder,
)
from engine.orders.aftersales import (
    EcwidUpdate,
    cancelled_after_import,
    interrupted,
    partial_cancellation,
    partially_restocked,
    refunds,
    stock_moved,
)
from engine.orders.answers import answer_cancellation, answer_return
from engine.orders.build import ecwid_order_for, ecwid_view, fees, fulfilled_by_tiktok, importable_lines, tiktok_ships
from engine.orders.inputs import Effect, OrderInputs, OrderRecord, restock_marker

AWAITING_SHIPMENT = frozenset({OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPING})
# TikTok lets the seller cancel until the parcel is handed over (tiktok.md: seller cancel).
# A Fulfilled by TikTok order is imported in any of these, as `import.when` would at AWAITING_SHIPMENT.
FBT_IMPORTABLE = frozenset({OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPING,
                            OrderStatus.AWAITING_COLLECTION, OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED,
                            OrderStatus.COMPLETED})
SELLER_CANCELLABLE = frozenset({OrderStatus.UNPAID, OrderStatus.ON_HOLD, OrderStatus.AWAITING_SHIPMENT,
                                OrderStatus.PARTIALLY_SHIPPING, OrderStatus.AWAITING_COLLECTION})
# No real order line holds more units of one SKU: a line above it is held, not imported, because an
# import takes the units out of Ecwid's stock (a 20,000-unit line once took stock to -19,975).
MAX_UNITS_PER_LINE = 1000
_KIND_ORDER = (ActionKind.IMPORT_ORDER, ActionKind.UPDATE_ECWID_ORDER, ActionKind.SHIP_PACKAGE,
               ActionKind.CANCEL_ORDER, ActionKind.APPROVE_CANCELLATION, ActionKind.REJECT_CANCELLATION,
               ActionKind.APPROVE_RETURN, ActionKind.REJECT_RETURN)


def _held(rule: RuleRef | str, reason: str, fix: str, *, sku: str = "", **details: Any) -> ActionRequired:
    return ActionRequired(ecwid_product_id=0, rule=str(rule), reason=reason, fix=fix, sku=sku, details=details)


def _implausible(order: TikTokOrder) -> tuple[str, str] | None:
    """(reason, fix) when the order holds what no real order has; None when it may be imported.

    An import takes stock out of Ecwid and records money, so an order with nothing to import, an
    absurd quantity or a price that is not positive waits for the merchant instead.
    """
    check = "Check the order in TikTok Seller Center and cancel it there if it is not real"
    lines = importable_lines(order)
    if not lines:
        return (f"TikTok order {order.id} has no items to import (none, or every unit cancelled)",
                f"{check}; tokbridge imports it once it has items")
    for line, quantity in lines:
        if quantity > MAX_UNITS_PER_LINE:
            return (f"TikTok order {order.id} has {quantity} units of SKU {line.seller_sku}, more than the "
                    f"{MAX_UNITS_PER_LINE} tokbridge imports per SKU",
                    f"{check}; if it is real, enter it in Ecwid by hand")
        if line.unit_price <= 0:
            return (f"TikTok order {order.id} has SKU {line.seller_sku} at a unit price of {line.unit_price}",
                    f"{check}; tokbridge imports only lines with a positive price")
    payment = order.payment
    if payment is not None and min(payment.sub_total, payment.total_amount) < 0:
        return (f"TikTok order {order.id} has a negative total ({payment.total_amount})",
                f"{check}; tokbridge does not import negative amounts")
    if payment is not None and fees(payment) < 0:
        return (f"TikTok order {order.id}'s payment does not add up: total {payment.total_amount} is less than "
                f"subtotal {payment.sub_total} + shipping {payment.shipping_fee} + tax {payment.tax}",
                f"{check}; tokbridge imports only totals that reconcile")
    return None


def _unknown_skus(order: TikTokOrder, inputs: OrderInputs) -> list[str]:
    return sorted({line.seller_sku for line, _ in importable_lines(order) if line.seller_sku not in inputs.skus})


def _importable(order: TikTokOrder, inputs: OrderInputs, rules: OrderRules) -> ActionRequired | None:
    """Why `order` (matched by import.when) cannot be imported yet, as an item for the merchant."""
    rule = rules.import_
    if order.payment is None:
        return _held(rule.ref, f"TikTok order {order.id} has no payment details, so it cannot be imported",
                     "Wait for TikTok to complete the order's payment", tiktok_order_id=order.id, retry=True)
    currency = order.payment.currency
    if inputs.store_currency and currency and currency != inputs.store_currency:
        return _held(rule.ref, f"TikTok order {order.id} is in {currency}, but the Ecwid store sells in "
                               f"{inputs.store_currency}; tokbridge does not convert currencies",
                     "Enter the order in Ecwid by hand, or connect the TikTok shop of the store's currency",
                     tiktok_order_id=order.id, retry=True)
    implausible = _implausible(order)
    if implausible is not None:
        reason, fix = implausible
        return _held(rule.ref, reason, fix, tiktok_order_id=order.id, retry=True)
    gone = sorted({line.seller_sku for line, _ in importable_lines(order)
                   if (t := inputs.skus.get(line.seller_sku)) is not None and t.ecwid_combination_id is not None
                   and not t.options})
    if gone:
        return _held(rule.ref, f"TikTok order {order.id} has SKU {', '.join(gone)}, whose Ecwid variation is gone "
                               "(an order line with a variation SKU needs the variation's options)",
                     "Restore the variation in Ecwid, or run `tokbridge apply` to relist the product",
                     sku=gone[0], tiktok_order_id=order.id, retry=True)
    unknown = _unknown_skus(order, inputs)
    if unknown and rules.unknown_sku is UnknownSku.ACTION_REQUIRED:
        listed = ", ".join(unknown)
        return _held(rule.ref, f"TikTok order {order.id} has SKU {listed} that tokbridge did not list",
                     "List the product with tokbridge (the order is imported on the next run), or set "
                     "unknown_sku: placeholder in rules/orders.yaml", sku=unknown[0], tiktok_order_id=order.id,
                     retry=True)
    return None


def _email(order: TikTokOrder, rules: OrderRules) -> str | ActionRequired:
    rule = rules.import_
    try:
        email = rule.customer_email.render(order=order).strip()
    except ExpressionError as exc:
        return _held(rule.ref, f"TikTok order {order.id}: import.customer_email failed: {exc.message}",
                     "Fix import.customer_email in rules/orders.yaml", tiktok_order_id=order.id, retry=True)
    if not email:
        return _held(rule.ref, f"TikTok order {order.id}: import.customer_email is empty",
                     "Set import.customer_email in rules/orders.yaml to a placeholder address, e.g. "
                     "tiktok-orders@your-shop.example", tiktok_order_id=order.id, retry=True)
    return email


def _judged_order(order: TikTokOrder) -> TikTokOrder:
    """The order as `import.when` judges it. TikTok ships a Fulfilled by TikTok order from its own warehouse,
    often before a poll sees it AWAITING_SHIPMENT, and nothing about it waits for the seller: so from
    AWAITING_SHIPMENT onwards it is judged as if it were still AWAITING_SHIPMENT (the rest of `when` still
    applies), and it reaches Ecwid once, whatever status it has by then."""
    if fulfilled_by_tiktok(order) and order.status in FBT_IMPORTABLE:
        return dataclasses.replace(order, status=OrderStatus.AWAITING_SHIPMENT)
    return order


def _import_statuses(order: TikTokOrder, rules: OrderRules) -> tuple[str, str]:
    """The Ecwid statuses of the new order: import.ecwid's, then what `tiktok_to_ecwid` maps the order's
    status to (an order imported IN_TRANSIT starts SHIPPED): later passes compare with the status imported."""
    payment, fulfillment = rules.import_.payment_status, rules.import_.fulfillment_status
    mapped = rules.tiktok_to_ecwid.get(order.status.value)
    if mapped is not None:
        payment = mapped.payment_status or payment
        fulfillment = mapped.fulfillment_status or fulfillment
    return payment, fulfillment


def _import(order: TikTokOrder, inputs: OrderInputs, rules: OrderRules) -> Action | ActionRequired | None:
    rule = rules.import_
    try:
        if not rule.when.evaluate(order=_judged_order(order)):
            return None
    except ExpressionError as exc:
        return _held(rule.ref, f"TikTok order {order.id}: import.when failed: {exc.message}",
                     "Fix import.when in rules/orders.yaml", tiktok_order_id=order.id, retry=True)
    problem = _importable(order, inputs, rules)
    if problem is not None:
        return problem
    email = _email(order, rules)
    if isinstance(email, ActionRequired):
        return email
    assert order.payment is not None  # checked by _importable
    payment_status, fulfillment_status = _import_statuses(order, rules)
    built = ecwid_order_for(order, skus=inputs.skus, email=email, payment_status=payment_status,
                            fulfillment_status=fulfillment_status)
    units = sum(item.quantity for item in built.order.items)
    summary = f"{units} units, total {built.order.total} {order.payment.currency}"
    changes = [FieldChange("ecwid_order", None, summary, str(rule.ref))]
    if built.unknown_skus:
        changes.append(FieldChange("placeholder_lines", None, list(built.unknown_skus), str(rule.ref)))
    return Action(
        kind=ActionKind.IMPORT_ORDER,
        key=f"order:{order.id}",
        changes=tuple(changes),
        payload=ImportOrder(tiktok_order_id=order.id, tiktok_status=order.status.value, order=built.order),
        reason=f"TikTok order {order.id} is {order.status.value} and matches import.when",
    )


def _restock(order: TikTokOrder, ecwid: EcwidOrder, inputs: OrderInputs, rules: OrderRules,
             update: EcwidUpdate) -> None:
    """Once the TikTok order is cancelled, its Ecwid items back in stock (only when Ecwid took them out),
    less the units a partial cancellation put back already."""
    if order.status is not OrderStatus.CANCELLED or not rules.restock_on_cancel or not stock_moved(rules):
        return
    marker = inputs.effects.get(restock_marker(order.id))
    if marker == Effect.DONE:
        return
    if marker == Effect.STARTED:
        update.held.append(interrupted(rules, order, ecwid))
        return
    back, _ = partially_restocked(order.id, inputs)
    items = [RestockItem(product_id=i.product_id, combination_id=i.combination_id, quantity=i.quantity - back[i.sku],
                         sku=i.sku)
             for i in ecwid.items if i.product_id is not None and i.quantity > back[i.sku]]
    update.put_back(items, [order.id], f"{rules.import_.ref.file} (restock_on_cancel)")


def _status_changes(order: TikTokOrder, record: OrderRecord, rules: OrderRules, update: EcwidUpdate) -> None:
    """The Ecwid statuses TikTok's new status maps to."""
    mapped = rules.tiktok_to_ecwid.get(order.status.value) if order.status.value != record.tiktok_status else None
    if mapped is None:
        return
    for name, value in (("paymentStatus", mapped.payment_status), ("fulfillmentStatus", mapped.fulfillment_status)):
        if value is not None:
            update.set_status(name, value, str(mapped.ref))


def _tracking(order: TikTokOrder, ecwid: EcwidOrder, rules: OrderRules, update: EcwidUpdate) -> None:
    if (fulfilled_by_tiktok(order) or tiktok_ships(order)) and order.tracking_number \
            and order.tracking_number != ecwid.tracking_number:
        # TikTok bought the label (or shipped from its warehouse): its tracking is the one to show in Ecwid.
        update.changes.append(FieldChange("trackingNumber", ecwid.tracking_number or None, order.tracking_number,
                                          f"{rules.import_.ref.file} (TikTok ships this order)"))
        update.statuses["trackingNumber"] = order.tracking_number


def _tiktok_to_ecwid(order: TikTokOrder, record: OrderRecord, inputs: OrderInputs,
                     rules: OrderRules) -> list[Action | ActionRequired]:
    ecwid = inputs.ecwid_orders.get(order.id)
    if ecwid is None:
        return [_held(rules.import_.ref.file,
                      f"Ecwid order {record.ecwid_order_id} (TikTok order {order.id}) is missing from Ecwid",
                      "Restore the order in Ecwid, or handle TikTok order changes in Seller Center",
                      tiktok_order_id=order.id, ecwid_order_id=record.ecwid_order_id)]
    update = EcwidUpdate.of(ecwid)
    _status_changes(order, record, rules, update)
    _tracking(order, ecwid, rules, update)
    for step in (_restock, partial_cancellation, refunds):
        step(order, ecwid, inputs, rules, update)
    if not update.changes:
        return list(update.held)
    return [*update.held, _ecwid_update(order, ecwid, update)]


def _ecwid_update(order: TikTokOrder, ecwid: EcwidOrder, update: EcwidUpdate) -> Action:
    return Action(
        kind=ActionKind.UPDATE_ECWID_ORDER,
        key=f"order:{order.id}:ecwid",
        changes=tuple(update.changes),
        payload=UpdateEcwidOrder(tiktok_order_id=order.id, ecwid_order_id=ecwid.id, tiktok_status=order.status.value,
                                 changes=update.statuses, restock=tuple(update.restock),
                                 payment_status=update.target["paymentStatus"],
                                 fulfillment_status=update.target["fulfillmentStatus"],
                                 extra_fields=update.extra, restock_marks=tuple(update.marks)),
        reason=f"TikTok order {order.id} is {order.status.value}",
    )


def _tiktok_label(rule: EcwidToTikTokRule, order: TikTokOrder, ecwid: EcwidOrder) -> Action:
    """Ship on TikTok's label: TikTok picks the carrier and issues the tracking (mirrored back later)."""
    return Action(
        kind=ActionKind.SHIP_PACKAGE,
        key=f"order:{order.id}:ship",
        changes=(FieldChange("shipping_label", None, "TikTok shipping label", str(rule.ref)),),
        payload=ShipPackage(tiktok_order_id=order.id, ecwid_order_id=ecwid.id, tracking_number="",
                            shipping_provider="", tiktok_label=True),
        reason=f"Ecwid order {ecwid.id} is {ecwid.fulfillment_status.value}; TikTok ships this order on its label",
    )


def _ship(rule: EcwidToTikTokRule, order: TikTokOrder, ecwid: EcwidOrder, view: dict[str, Any],
          rules: OrderRules) -> Action | ActionRequired | None:
    if order.status not in AWAITING_SHIPMENT or fulfilled_by_tiktok(order):
        # Shipped already (by us or in Seller Center), cancelled, or TikTok's own warehouse ships it.
        return None
    if tiktok_ships(order):
        return _tiktok_label(rule, order, ecwid)
    carrier = ecwid.shipping_option.carrier_name if ecwid.shipping_option else ""
    provider = ""
    if rule.shipping_provider is not None:
        try:
            provider = rule.shipping_provider.render(order=view, carriers=rules.carriers).strip()
        except ExpressionError:
            provider = ""  # an unmapped carrier is a missing key in `carriers`: reported below
    if not provider:
        return _held(rules.carriers_ref or rule.ref,
                     f"Ecwid order {ecwid.id} was shipped with carrier '{carrier}', which carriers "
                     "in rules/orders.yaml does not map to a TikTok shipping provider",
                     f"Add '{carrier or '<carrier>'}: <TikTok shipping provider>' under carriers in "
                     "rules/orders.yaml", tiktok_order_id=order.id, ecwid_order_id=ecwid.id)
    return Action(
        kind=ActionKind.SHIP_PACKAGE,
        key=f"order:{order.id}:ship",
        changes=(FieldChange("tracking_number", order.tracking_number or None, ecwid.tracking_number, str(rule.ref)),
                 FieldChange("shipping_provider", order.shipping_provider or None, provider, str(rule.ref))),
        payload=ShipPackage(tiktok_order_id=order.id, ecwid_order_id=ecwid.id,
                            tracking_number=ecwid.tracking_number, shipping_provider=provider),
        reason=f"Ecwid order {ecwid.id} is {ecwid.fulfillment_status.value} with tracking {ecwid.tracking_number}",
    )


def _cancel(rule: EcwidToTikTokRule, order: TikTokOrder, ecwid: EcwidOrder,
            rules: OrderRules) -> Action | ActionRequired | None:
    if order.status is OrderStatus.CANCELLED:
        return None
    if order.status not in SELLER_CANCELLABLE:
        return _held(rule.ref, f"Ecwid order {ecwid.id} is cancelled, but TikTok order {order.id} is "
                               f"{order.status.value} and can no longer be cancelled by the seller",
                     "Handle it as a return or refund in TikTok Seller Center", tiktok_order_id=order.id,
                     ecwid_order_id=ecwid.id)
    label = rule.cancel_reason
    reason = rules.cancel_reasons.get(label, rules.default_cancel_reason) if label else rules.default_cancel_reason
    return Action(
        kind=ActionKind.CANCEL_ORDER,
        key=f"order:{order.id}:cancel",
        changes=(FieldChange("status", order.status.value, OrderStatus.CANCELLED.value, str(rule.ref)),
                 FieldChange("cancel_reason", None, reason, str(rule.ref))),
        payload=CancelOrder(tiktok_order_id=order.id, ecwid_order_id=ecwid.id, cancel_reason=reason),
        reason=f"Ecwid order {ecwid.id} is {ecwid.payment_status.value}",
    )


def _ecwid_to_tiktok(order: TikTokOrder, inputs: OrderInputs, rules: OrderRules) -> Action | ActionRequired | None:
    ecwid = inputs.ecwid_orders.get(order.id)
    if ecwid is None:
        return None
    view = ecwid_view(ecwid)
    for rule in rules.ecwid_to_tiktok:
        try:
            matched = bool(rule.when.evaluate(order=view, carriers=rules.carriers))
        except ExpressionError as exc:
            return _held(rule.ref, f"Ecwid order {ecwid.id}: ecwid_to_tiktok when failed: {exc.message}",
                         "Fix the rule's when in rules/orders.yaml", tiktok_order_id=order.id, ecwid_order_id=ecwid.id)
        if not matched:
            continue
        if rule.do is EcwidToTikTokAction.SHIP_PACKAGE:
            return _ship(rule, order, ecwid, view, rules)
        return _cancel(rule, order, ecwid, rules)
    return None


def _cancelled_after_import(order: TikTokOrder, inputs: OrderInputs, rules: OrderRules) -> ActionRequired | None:
    """With `restock_on_partial_cancel` off: units TikTok cancelled after the import (a partial cancellation)
    that the Ecwid order still lists, shown to the merchant, who edits the Ecwid order and its stock."""
    ecwid = inputs.ecwid_orders.get(order.id)
    if ecwid is None or rules.restock_on_partial_cancel:
        return None
    gone = cancelled_after_import(order, ecwid)
    if not gone:
        return None
    units = ", ".join(f"{count} x {item.sku}" for item, count in gone)
    return _held(f"{rules.import_.ref.file} (partial cancellation)",
                 f"TikTok cancelled {units} of order {order.id} after it was imported; Ecwid order {ecwid.id} "
                 "still lists them",
                 "Remove them from the Ecwid order and put them back in stock in Ecwid, or set "
                 "restock_on_partial_cancel: true in rules/orders.yaml",
                 sku=gone[0][0].sku, tiktok_order_id=order.id, ecwid_order_id=ecwid.id, retry=True)


def plan_orders(inputs: OrderInputs, rules: OrderRules) -> Plan:
    """The order actions and action-required items for one pass over `inputs`."""
    actions: list[Action] = []
    blocked: list[ActionRequired] = []

    def add(outcome: Action | ActionRequired | None) -> None:
        if isinstance(outcome, Action):
            actions.append(outcome)
        elif outcome is not None:
            blocked.append(outcome)

    orders: dict[str, TikTokOrder] = {o.id: o for o in inputs.tiktok_orders}  # a later copy of an id wins
    start = rules.import_.start
    before_start: list[str] = []  # placed before import.from: the tool used before imported them
    for order_id in sorted(orders):
        order = orders[order_id]
        record = inputs.records.get(order_id)
        if record is None and start is not None and order.create_time < start.timestamp():
            before_start.append(order_id)
        elif record is None:
            add(_import(order, inputs, rules))
        else:
            for outcome in _tiktok_to_ecwid(order, record, inputs, rules):
                add(outcome)
            add(_ecwid_to_tiktok(order, inputs, rules))
            add(_cancelled_after_import(order, inputs, rules))
    for order_id in sorted(inputs.unreadable):
        add(_held(rules.import_.ref.file, f"TikTok order {order_id} could not be read: {inputs.unreadable[order_id]}",
                  "tokbridge reads it again on every run; if it keeps failing, check the order in TikTok Seller "
                  "Center (an order of another shop cannot be read with this shop's connection)",
                  tiktok_order_id=order_id, retry=True))
    for request in _unique(inputs.cancellations):
        add(answer_cancellation(request, inputs, rules))
    for pending in sorted({r.return_id: r for r in inputs.returns}.values(), key=lambda r: r.return_id):
        add(answer_return(pending, inputs, rules))
    actions.sort(key=lambda a: (_KIND_ORDER.index(a.kind), a.key))
    meta: dict[str, Any] = {"orders": len(orders)}
    if start is not None:
        meta.update(import_from=start.isoformat(), before_import_from=before_start)
    return Plan(actions=tuple(actions), blocked=tuple(blocked), meta=meta)


def _unique(requests: Iterable[Cancellation]) -> list[Cancellation]:
    return sorted({r.cancel_id: r for r in requests}.values(), key=lambda r: r.cancel_id)
