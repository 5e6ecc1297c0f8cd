"""What TikTok takes back after an import, onto the Ecwid order: units cancelled from a live order,
returns and refunds. Pure; no I/O.

Each function adds to one `EcwidUpdate` (the order pass's single UPDATE_ECWID_ORDER per order),
and an interrupted restock to its action-required items (the rest of the update goes ahead).
As `rules/orders.yaml` says:

- units TikTok cancels after the import while the order stays live go back in Ecwid's stock
  (`restock_on_partial_cancel`), once per unit (a state marker per restocked unit, so a later cancel
  of more units restocks only those), and the Ecwid order names them in its "TikTok cancelled"
  extra field; with the rule off they are shown to the merchant instead;
- a completed return or refund, or a completed cancellation of some units of a live order (TikTok
  refunded the buyer either way), sets Ecwid's paymentStatus REFUNDED, or
  PARTIALLY_REFUNDED while less than the order's total is refunded, and the refunded amount in the
  "TikTok refunded" extra field: Ecwid's own `refundedAmount` / `refunds` record Ecwid Payments'
  refunds and are not writable by an app (ecwid.md §7.6; Ecwid's update-order request has neither);
- the units of a completed RETURN_AND_REFUND (the goods came back) go back in stock once per return
  when `restock_on_return` is on. A REFUND lets the buyer keep the item: no stock moves.

Stock only ever goes back where the import took it out (an order created PAID, items with a productId).
The Ecwid order's items are never rewritten: Ecwid replaces the whole item list on a PUT (§7.3).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.config.types import OrderRules
from engine.model.ecwid_order import EcwidOrder, EcwidOrderItem, PaymentStatus
from engine.model.listing import ActionRequired
from engine.model.plan import FieldChange, RestockItem
from engine.model.tiktok_order import (
    RETURN_COMPLETE,
    Cancellation,
    CancelStatus,
    OrderStatus,
    ReturnRequest,
    TikTokOrder,
)
from engine.orders.inputs import (
    Effect,
    OrderInputs,
    partial_restock_mark,
    partial_restock_prefix,
    restock_marker,
    return_restock_mark,
    return_restock_prefix,
)

CANCELLED_FIELD = "TikTok cancelled"  # Ecwid order extra field: units TikTok cancelled after the import
REFUNDED_FIELD = "TikTok refunded"  # Ecwid order extra field: what TikTok refunded the buyer, e.g. "14.99 USD"
GOODS_COME_BACK = frozenset({"RETURN_AND_REFUND"})  # REFUND: the buyer keeps the item; REPLACEMENT: no refund


@dataclass
class EcwidUpdate:
    """What one pass changes on an imported Ecwid order, gathered from each source before it is planned."""

    target: dict[str, str]  # the Ecwid statuses after the update (recorded in the state)
    changes: list[FieldChange] = field(default_factory=list)  # shown in `plan`
    statuses: dict[str, str] = field(default_factory=dict)  # sent in the PUT
    extra: dict[str, str] = field(default_factory=dict)  # order extra fields to set
    restock: list[RestockItem] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    # Shown to the merchant beside the update (an interrupted restock): never a reason to hold the rest of it,
    # so a live order's later statuses still reach Ecwid.
    held: list[ActionRequired] = field(default_factory=list)

    @classmethod
    def of(cls, ecwid: EcwidOrder) -> EcwidUpdate:
        return cls(target={"paymentStatus": ecwid.payment_status.value,
                           "fulfillmentStatus": ecwid.fulfillment_status.value})

    def set_status(self, name: str, value: str, rule: str) -> None:
        if value != self.target[name]:
            self.changes.append(FieldChange(name, self.target[name], value, rule))
            self.statuses[name] = value
            self.target[name] = value

    def set_extra(self, ecwid: EcwidOrder, name: str, value: str, rule: str) -> None:
        old = ecwid.extra_fields.get(name)
        if value != old:
            self.changes.append(FieldChange(name, old, value, rule))
            self.extra[name] = value

    def put_back(self, items: list[RestockItem], marks: list[str], rule: str) -> None:
        if not items:
            return
        self.restock.extend(items)
        self.marks.extend(marks)
        units = ", ".join(f"{i.sku or i.product_id} +{i.quantity}" for i in items)
        self.changes.append(FieldChange("stock", None, units, rule))


def stock_moved(rules: OrderRules) -> bool:
    """Ecwid took the units out at the import only for an order created PAID (ecwid.md §7.5)."""
    return rules.import_.payment_status == PaymentStatus.PAID.value


def _held(rule: str, reason: str, fix: str, **details: Any) -> ActionRequired:
    return ActionRequired(ecwid_product_id=0, rule=rule, reason=reason, fix=fix, details=details)


def interrupted(rules: OrderRules, order: TikTokOrder, ecwid: EcwidOrder) -> ActionRequired:
    """A restock whose stock calls began and did not finish: the stock may or may not have moved, so it is
    never repeated; the merchant checks."""
    return _held(rules.import_.ref.file,
                 f"Restocking Ecwid order {ecwid.id} (TikTok order {order.id}) was interrupted",
                 "Check the stock of its products in Ecwid; tokbridge does not restock this order again",
                 tiktok_order_id=order.id, ecwid_order_id=ecwid.id)


def partially_restocked(order_id: str, inputs: OrderInputs) -> tuple[Counter[str], bool]:
    """Units per SKU of `order_id` already put back after a partial cancellation, and whether any such
    restock began without finishing."""
    prefix = restock_marker(partial_restock_prefix(order_id))
    counted: Counter[str] = Counter()
    broken = False
    for name, value in inputs.effects.items():
        if name.startswith(prefix):
            counted[name[len(prefix):].rsplit(":", 1)[0]] += 1
            broken = broken or value != Effect.DONE
    return counted, broken


def cancelled_after_import(order: TikTokOrder, ecwid: EcwidOrder) -> list[tuple[EcwidOrderItem, int]]:
    """Ecwid items with more units than TikTok's order still holds live, and how many more."""
    if order.status is OrderStatus.CANCELLED:
        return []  # a whole-order cancel is mapped by tiktok_to_ecwid and restocked by restock_on_cancel
    live = {line.seller_sku: line.quantity - line.cancelled_quantity for line in order.lines}
    return [(item, item.quantity - live[item.sku]) for item in ecwid.items
            if item.sku in live and item.quantity > live[item.sku]]


def partial_cancellation(order: TikTokOrder, ecwid: EcwidOrder, inputs: OrderInputs, rules: OrderRules,
                         update: EcwidUpdate) -> None:
    """With `restock_on_partial_cancel`: the cancelled units not yet put back, and their note on the order."""
    gone = cancelled_after_import(order, ecwid)
    if not gone or not rules.restock_on_partial_cancel:
        return
    rule = f"{rules.import_.ref.file} (restock_on_partial_cancel)"
    update.set_extra(ecwid, CANCELLED_FIELD, ", ".join(f"{count} x {item.sku}" for item, count in gone), rule)
    if not stock_moved(rules):
        return
    done, broken = partially_restocked(order.id, inputs)
    if broken:
        update.held.append(interrupted(rules, order, ecwid))
        return
    items: list[RestockItem] = []
    marks: list[str] = []
    for item, count in gone:
        if item.product_id is None or count <= done[item.sku]:
            continue  # a placeholder line moved no stock; or these units are back already
        items.append(RestockItem(item.product_id, item.combination_id, count - done[item.sku], item.sku))
        marks += [partial_restock_mark(order.id, item.sku, n) for n in range(done[item.sku] + 1, count + 1)]
    update.put_back(items, marks, rule)


def _completed(order_id: str, inputs: OrderInputs) -> list[ReturnRequest]:
    found = {r.return_id: r for r in inputs.refunds if r.order_id == order_id and r.status == RETURN_COMPLETE}
    return [found[k] for k in sorted(found)]


def _cancel_refunds(order_id: str, inputs: OrderInputs) -> list[Cancellation]:
    found = {c.cancel_id: c for c in inputs.cancel_refunds
             if c.order_id == order_id and c.status is CancelStatus.COMPLETE}
    return [found[k] for k in sorted(found)]


def refunds(order: TikTokOrder, ecwid: EcwidOrder, inputs: OrderInputs, rules: OrderRules,
            update: EcwidUpdate) -> None:
    """TikTok's completed refunds of the order (returns, and cancellations of some of its units) as Ecwid's
    payment status and the refunded amount; with `restock_on_return`, the returned units back in stock.
    A cancelled order is left to `tiktok_to_ecwid` (its CANCELLED mapping says what Ecwid shows)."""
    if order.status is OrderStatus.CANCELLED:
        return
    done = _completed(order.id, inputs)
    taken: list[ReturnRequest | Cancellation] = [*done, *_cancel_refunds(order.id, inputs)]
    refunded = sum((r.refund_total or Decimal(0) for r in taken), Decimal(0))
    if refunded <= 0:
        return
    rule = f"{rules.import_.ref.file} (returns)"
    currency = next((r.currency for r in taken if r.currency), order.payment.currency if order.payment else "")
    status = PaymentStatus.REFUNDED if refunded >= ecwid.total else PaymentStatus.PARTIALLY_REFUNDED
    update.set_status("paymentStatus", status.value, rule)
    update.set_extra(ecwid, REFUNDED_FIELD, f"{refunded:.2f} {currency}".strip(), rule)
    if rules.restock_on_return and stock_moved(rules):
        _returned_to_stock(order, ecwid, done, inputs, rules, update)


def _returned_to_stock(order: TikTokOrder, ecwid: EcwidOrder, done: list[ReturnRequest], inputs: OrderInputs,
                       rules: OrderRules, update: EcwidUpdate) -> None:
    """The units of each completed return whose goods came back, once per return (a marker per unit)."""
    for request in done:
        if request.return_type not in GOODS_COME_BACK:
            continue
        prefix = restock_marker(return_restock_prefix(order.id, request.return_id))
        begun = [value for name, value in inputs.effects.items() if name.startswith(prefix)]
        if any(value != Effect.DONE for value in begun):
            update.held.append(interrupted(rules, order, ecwid))
        elif not begun:
            items = returned_items(order, ecwid, request)
            marks = [return_restock_mark(order.id, request.return_id, n)
                     for n in range(1, sum(i.quantity for i in items) + 1)]
            update.put_back(items, marks, f"{rules.import_.ref.file} (restock_on_return)")


def returned_items(order: TikTokOrder, ecwid: EcwidOrder, request: ReturnRequest) -> list[RestockItem]:
    """The returned units, per Ecwid item (matched by seller SKU through TikTok's line item ids)."""
    sku_of = {item.id: item.seller_sku for item in order.line_items}
    units = Counter(sku_of[i] for i in request.order_line_item_ids if i in sku_of)
    return [RestockItem(item.product_id, item.combination_id, min(units[item.sku], item.quantity), item.sku)
            for item in ecwid.items if item.product_id is not None and units[item.sku] > 0]
