"""Decide the order actions: `plan_orders(inputs, rules) -> Plan`. Pure; no I/O, no clock.

Both directions, as `rules/orders.yaml` says:

- import: a TikTok order not yet imported whose `import.when` holds becomes IMPORT_ORDER (an
  order with a SKU tokbridge did not list is held as action-required, or imported with a
  placeholder line, per `unknown_sku`);
- TikTok -> Ecwid: when an imported order's TikTok status differs from the one last synchronised
  and `tiktok_to_ecwid` maps it, UPDATE_ECWID_ORDER sets the Ecwid statuses that differ; a TikTok
  cancellation also restocks the Ecwid items once (`restock_on_cancel`);
- Ecwid -> TikTok: the first `ecwid_to_tiktok` rule matching the Ecwid order acts: SHIP_PACKAGE
  while the TikTok order awaits shipment (carrier mapped by `carriers`, unmapped -> action-required),
  CANCEL_ORDER while TikTok still lets the seller cancel;
- a buyer's cancellation request is APPROVE_CANCELLATION or surfaced, per `buyer_cancellation`.

Transitions are edge-triggered (TikTok status vs the recorded one) and guarded by the other
side's current state, so an order that has converged plans no action and nothing loops: our own
Ecwid update never re-triggers a ship or cancel, because the TikTok order has already moved on.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from engine.config.types import BuyerCancellation, EcwidToTikTokAction, EcwidToTikTokRule, OrderRules, UnknownSku
from engine.expr import ExpressionError
from engine.model.ecwid_order import EcwidOrder, PaymentStatus
from engine.model.listing import ActionRequired, RuleRef
from engine.model.plan import Action, ActionKind, FieldChange, Plan
from engine.model.tiktok_order import Cancellation, CancelRole, CancelStatus, OrderStatus, TikTokOrder
from engine.orders.build import ecwid_order_body, ecwid_view
from engine.orders.inputs import Effect, OrderInputs, OrderRecord, restock_marker

AWAITING_SHIPMENT = frozenset({OrderStatus.AWAITING_SHIPMENT, OrderStatus.PARTIALLY_SHIPPING})
# TikTok lets the seller cancel until the parcel is handed over (tiktok.md: seller cancel).
SELLER_CANCELLABLE = frozenset({OrderStatus.UNPAID, OrderStatus.ON_HOLD, OrderStatus.AWAITING_SHIPMENT,
                                OrderStatus.PARTIALLY_SHIPPING, OrderStatus.AWAITING_COLLECTION})
_KIND_ORDER = (ActionKind.IMPORT_ORDER, ActionKind.UPDATE_ECWID_ORDER, ActionKind.SHIP_PACKAGE,
               ActionKind.CANCEL_ORDER, ActionKind.APPROVE_CANCELLATION)


def _held(rule: RuleRef | str, reason: str, fix: str, *, sku: str = "", **details: Any) -> ActionRequired:
    return ActionRequired(ecwid_product_id=0, rule=str(rule), reason=reason, fix=fix, sku=sku, details=details)


def _import(order: TikTokOrder, inputs: OrderInputs, rules: OrderRules) -> Action | ActionRequired | None:
    rule = rules.import_
    try:
        if not rule.when.evaluate(order=order):
            return None
    except ExpressionError as exc:
        return _held(rule.ref, f"TikTok order {order.id}: import.when failed: {exc.message}",
                     "Fix import.when in rules/orders.yaml", tiktok_order_id=order.id, retry=True)
    if order.payment is None:
        return _held(rule.ref, f"TikTok order {order.id} has no payment details, so it cannot be imported",
                     "Wait for TikTok to complete the order's payment", tiktok_order_id=order.id, retry=True)
    unknown = sorted({line.seller_sku for line in order.lines
                      if line.quantity > line.cancelled_quantity and line.seller_sku not in inputs.skus})
    if unknown and rules.unknown_sku is UnknownSku.ACTION_REQUIRED:
        listed = ", ".join(unknown)
        return _held(rule.ref, f"TikTok order {order.id} has SKU {listed} that tokbridge did not list",
                     "List the product with tokbridge (the order is imported on the next run), or set "
                     "unknown_sku: placeholder in rules/orders.yaml", sku=unknown[0], tiktok_order_id=order.id,
                     retry=True)
    try:
        email = rule.customer_email.render(order=order).strip()
    except ExpressionError as exc:
        return _held(rule.ref, f"TikTok order {order.id}: import.customer_email failed: {exc.message}",
                     "Fix import.customer_email in rules/orders.yaml", tiktok_order_id=order.id, retry=True)
    if not email:
        return _held(rule.ref, f"TikTok order {order.id}: import.customer_email is empty",
                     "Set import.customer_email in rules/orders.yaml to a placeholder address, e.g. "
                     "tiktok-orders@your-shop.example", tiktok_order_id=order.id, retry=True)
    built = ecwid_order_body(order, skus=inputs.skus, email=email, payment_status=rule.payment_status,
                             fulfillment_status=rule.fulfillment_status)
    units = sum(item["quantity"] for item in built.body["items"])
    summary = f"{units} units, total {built.body['total']} {order.payment.currency}"
    changes = [FieldChange("ecwid_order", None, summary, str(rule.ref))]
    if built.unknown_skus:
        changes.append(FieldChange("placeholder_lines", None, list(built.unknown_skus), str(rule.ref)))
    return Action(
        kind=ActionKind.IMPORT_ORDER,
        key=f"order:{order.id}",
        changes=tuple(changes),
        payload={"tiktok_order_id": order.id, "tiktok_status": order.status.value, "order": built.body},
        reason=f"TikTok order {order.id} is {order.status.value} and matches import.when",
    )


def _restock(order: TikTokOrder, ecwid: EcwidOrder, inputs: OrderInputs,
             rules: OrderRules) -> tuple[list[dict[str, Any]], ActionRequired | None]:
    """Items to put back in Ecwid stock once the TikTok order is cancelled (only when Ecwid took them out)."""
    stock_moved = rules.import_.payment_status == PaymentStatus.PAID.value
    if order.status is not OrderStatus.CANCELLED or not rules.restock_on_cancel or not stock_moved:
        return [], None
    marker = inputs.effects.get(restock_marker(order.id))
    if marker == Effect.DONE:
        return [], None
    if marker == Effect.STARTED:
        return [], _held(
            rules.import_.ref.file, f"Restocking Ecwid order {ecwid.id} (TikTok order {order.id}) was interrupted",
            "Check the stock of its products in Ecwid; tokbridge does not restock this order again",
            tiktok_order_id=order.id, ecwid_order_id=ecwid.id)
    items = [{"productId": i.product_id, "combinationId": i.combination_id, "quantity": i.quantity, "sku": i.sku}
             for i in ecwid.items if i.product_id is not None and i.quantity > 0]
    return items, None


def _tiktok_to_ecwid(order: TikTokOrder, record: OrderRecord, inputs: OrderInputs,
                     rules: OrderRules) -> Action | ActionRequired | None:
    ecwid = inputs.ecwid_orders.get(order.id)
    if ecwid is None:
        return _held(rules.import_.ref.file,
                     f"Ecwid order {record.ecwid_order_id} (TikTok order {order.id}) is missing from Ecwid",
                     "Restore the order in Ecwid, or handle TikTok order changes in Seller Center",
                     tiktok_order_id=order.id, ecwid_order_id=record.ecwid_order_id)
    changes: list[FieldChange] = []
    target = {"paymentStatus": ecwid.payment_status.value, "fulfillmentStatus": ecwid.fulfillment_status.value}
    update = rules.tiktok_to_ecwid.get(order.status.value) if order.status.value != record.tiktok_status else None
    if update is not None:
        for name, value in (("paymentStatus", update.payment_status), ("fulfillmentStatus", update.fulfillment_status)):
            if value is not None and value != target[name]:
                changes.append(FieldChange(name, target[name], value, str(update.ref)))
                target[name] = value
    restock, problem = _restock(order, ecwid, inputs, rules)
    if problem is not None:
        return problem
    if restock:
        units = ", ".join(f"{i['sku'] or i['productId']} +{i['quantity']}" for i in restock)
        changes.append(FieldChange("stock", None, units, f"{rules.import_.ref.file} (restock_on_cancel)"))
    if not changes:
        return None
    return Action(
        kind=ActionKind.UPDATE_ECWID_ORDER,
        key=f"order:{order.id}:ecwid",
        changes=tuple(changes),
        payload={"tiktok_order_id": order.id, "ecwid_order_id": ecwid.id, "tiktok_status": order.status.value,
                 "changes": {c.field: c.new for c in changes if c.field != "stock"}, "restock": restock,
                 "payment_status": target["paymentStatus"], "fulfillment_status": target["fulfillmentStatus"]},
        reason=f"TikTok order {order.id} is {order.status.value}",
    )


def _ship(rule: EcwidToTikTokRule, order: TikTokOrder, ecwid: EcwidOrder, view: dict[str, Any],
          rules: OrderRules) -> Action | ActionRequired | None:
    if order.status not in AWAITING_SHIPMENT:
        return None  # shipped already (by us or in Seller Center), or cancelled: nothing left to tell TikTok
    carrier = ecwid.shipping_option.carrier_name if ecwid.shipping_option else ""
    provider = ""
    if rule.shipping_provider is not None:
        try:
            provider = rule.shipping_provider.render(order=view, carriers=rules.carriers).strip()
        except ExpressionError:
            provider = ""  # an unmapped carrier is a missing key in `carriers`: reported below
    if not provider:
        return _held(rule.ref, f"Ecwid order {ecwid.id} was shipped with carrier '{carrier}', which carriers "
                               "in rules/orders.yaml does not map to a TikTok shipping provider",
                     f"Add '{carrier or '<carrier>'}: <TikTok shipping provider>' under carriers in "
                     "rules/orders.yaml", tiktok_order_id=order.id, ecwid_order_id=ecwid.id)
    return Action(
        kind=ActionKind.SHIP_PACKAGE,
        key=f"order:{order.id}:ship",
        changes=(FieldChange("tracking_number", order.tracking_number or None, ecwid.tracking_number, str(rule.ref)),
                 FieldChange("shipping_provider", order.shipping_provider or None, provider, str(rule.ref))),
        payload={"tiktok_order_id": order.id, "ecwid_order_id": ecwid.id, "tracking_number": ecwid.tracking_number,
                 "shipping_provider": provider},
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
        payload={"tiktok_order_id": order.id, "ecwid_order_id": ecwid.id, "cancel_reason": reason},
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


def _buyer_cancellation(request: Cancellation, rules: OrderRules) -> Action | ActionRequired | None:
    if request.status is not CancelStatus.PENDING or request.role not in (CancelRole.BUYER, None):
        return None
    if rules.buyer_cancellation is BuyerCancellation.APPROVE:
        return Action(
            kind=ActionKind.APPROVE_CANCELLATION,
            key=f"cancellation:{request.cancel_id}",
            changes=(FieldChange("cancellation", request.status.value, CancelStatus.SUCCESS.value,
                                 f"{rules.import_.ref.file} (buyer_cancellation: approve)"),),
            payload={"cancel_id": request.cancel_id, "tiktok_order_id": request.order_id},
            reason=f"The buyer asked to cancel TikTok order {request.order_id} ({request.reason})",
        )
    due = ""
    if request.respond_deadline:
        due = f"; answer by {datetime.fromtimestamp(request.respond_deadline, UTC):%Y-%m-%d %H:%M} UTC"
    return _held(f"{rules.import_.ref.file} (buyer_cancellation: surface)",
                 f"The buyer asked to cancel TikTok order {request.order_id} ({request.reason}){due}",
                 "Approve or reject it in TikTok Seller Center, or set buyer_cancellation: approve in "
                 "rules/orders.yaml", tiktok_order_id=request.order_id, cancel_id=request.cancel_id)


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
    for order_id in sorted(orders):
        order = orders[order_id]
        record = inputs.records.get(order_id)
        if record is None:
            add(_import(order, inputs, rules))
            continue
        add(_tiktok_to_ecwid(order, record, inputs, rules))
        add(_ecwid_to_tiktok(order, inputs, rules))
    for request in _unique(inputs.cancellations):
        add(_buyer_cancellation(request, rules))
    actions.sort(key=lambda a: (_KIND_ORDER.index(a.kind), a.key))
    return Plan(actions=tuple(actions), blocked=tuple(blocked), meta={"orders": len(orders)})


def _unique(requests: Iterable[Cancellation]) -> list[Cancellation]:
    return sorted({r.cancel_id: r for r in requests}.values(), key=lambda r: r.cancel_id)
