"""Plan files round-trip typed plans exactly: decode(encode(plan)) == plan, for every kind of action."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.ecwid_order import (
    EcwidOrder,
    EcwidOrderItem,
    FulfillmentStatus,
    PaymentStatus,
    PersonInfo,
    ShippingOption,
)
from engine.model.listing import (
    ActionRequired,
    DesiredListing,
    DesiredSku,
    Essence,
    EssenceSku,
    ListingIntent,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    ProductStatus,
    RuleRef,
    SalesAttribute,
    SaveMode,
    Trace,
)
from engine.model.plan import (
    Action,
    ActionKind,
    AnswerRequest,
    ApproveCancellation,
    CancelOrder,
    ChangeStatus,
    CreateListing,
    DriftRead,
    FieldChange,
    ImportOrder,
    Plan,
    RestockItem,
    ShipPackage,
    UpdateEcwidOrder,
    UpdateListing,
)
from engine.reconcile import saved_plan_from_json
from engine.reconcile.codec import plan_to_json
from tests.examples import examples

text = st.text(max_size=12)
ids = st.integers(min_value=1, max_value=10**12)
money = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=2)
tuples = st.lists(text, max_size=3).map(tuple)
traces = st.dictionaries(
    st.sampled_from(["price", "quantity", "title", "intent", "category"]),
    st.builds(Trace, rule=st.builds(RuleRef, file=text, line=st.integers(0, 999), name=text), steps=tuples),
    max_size=2,
)
sales = st.lists(st.builds(SalesAttribute, name=text, value=text), max_size=2).map(tuple)
weights = st.none() | st.builds(PackageWeight, value=money, unit=st.sampled_from(["KILOGRAM", "POUND"]))
dimensions = st.none() | st.builds(PackageDimensions, length=st.integers(1, 99), width=st.integers(1, 99),
                                   height=st.integers(1, 99), unit=st.sampled_from(["CENTIMETER", "INCH"]))
attributes = st.lists(st.builds(ProductAttribute, id=text, name=text, values=tuples), max_size=2).map(tuple)
desired_skus = st.lists(
    st.builds(DesiredSku, seller_sku=text, ecwid_product_id=ids, ecwid_combination_id=st.none() | ids, price=money,
              quantity=st.integers(0, 10**6), sales_attributes=sales, list_price=st.none() | money,
              image_url=st.none() | text, trace=traces),
    max_size=3,
).map(tuple)
listings = st.builds(
    DesiredListing, ecwid_product_id=ids, intent=st.sampled_from(list(ListingIntent)),
    save_mode=st.sampled_from(list(SaveMode)), title=text, description=text, category_id=text, brand=text,
    main_images=tuples, product_attributes=attributes, package_weight=weights, package_dimensions=dimensions,
    skus=desired_skus, trace=traces, content_hash=text,
)
essences = st.builds(
    Essence, title=text, description=text, category_id=text, brand=text, main_images=tuples,
    product_attributes=attributes, package_weight=weights, package_dimensions=dimensions,
    skus=st.lists(st.builds(EssenceSku, seller_sku=text, price=money, quantity=st.integers(0, 999),
                            sales_attributes=sales, list_price=st.none() | money), max_size=3).map(tuple),
)
values = st.none() | text | st.integers(-999, 999) | tuples
changes = st.lists(
    st.builds(FieldChange, field=st.sampled_from(["title", "price", "quantity", "list_price", "status", "skus"]),
              old=values, new=values, rule=text, sku=st.none() | text),
    max_size=4,
).map(tuple)
people = st.none() | st.builds(PersonInfo, name=text, first_name=text, last_name=text, street=text, city=text,
                               country_code=text, country_name=text, postal_code=text,
                               state_or_province_name=text, phone=text)
orders = st.builds(
    EcwidOrder, payment_status=st.sampled_from(list(PaymentStatus)),
    fulfillment_status=st.sampled_from(list(FulfillmentStatus)),
    items=st.lists(st.builds(EcwidOrderItem, name=text, quantity=st.integers(0, 99), price=money, sku=text,
                             product_id=st.none() | ids, combination_id=st.none() | ids,
                             selected_options=st.dictionaries(text, text, max_size=2)), max_size=3).map(tuple),
    subtotal=money, total=money, tax=st.none() | money, email=text, shipping_person=people, billing_person=people,
    shipping_option=st.none() | st.builds(ShippingOption, carrier_name=text, method_name=text,
                                          rate=st.none() | money, fulfillment_type=text),
    external_transaction_id=text, referer_id=text, private_admin_notes=text, order_comments=text,
    disable_all_customer_notifications=st.booleans(), extra_fields=st.dictionaries(text, text, max_size=2),
)
statuses = st.sampled_from(list(ProductStatus))
LISTING_PAYLOADS = {
    ActionKind.CREATE_PRODUCT: st.builds(CreateListing, listing=listings),
    ActionKind.UPDATE_PRICE: st.builds(UpdateListing, fields=tuples, listing=listings,
                                       sku_ids=st.dictionaries(text, text, max_size=2)),
    ActionKind.UPDATE_INVENTORY: st.builds(UpdateListing, fields=tuples, listing=listings,
                                           sku_ids=st.dictionaries(text, text, max_size=2)),
    ActionKind.UPDATE_PRODUCT: st.builds(UpdateListing, fields=tuples, listing=listings,
                                         sku_ids=st.dictionaries(text, text, max_size=2)),
    ActionKind.ACTIVATE: st.builds(ChangeStatus, status=statuses, listing=st.none() | listings),
    ActionKind.DEACTIVATE: st.builds(ChangeStatus, status=statuses),
    ActionKind.DELETE_PRODUCT: st.builds(ChangeStatus, status=statuses),
}
ORDER_PAYLOADS = {
    ActionKind.IMPORT_ORDER: st.builds(ImportOrder, tiktok_order_id=text, tiktok_status=text, order=orders),
    ActionKind.UPDATE_ECWID_ORDER: st.builds(
        UpdateEcwidOrder, tiktok_order_id=text, ecwid_order_id=text, tiktok_status=text,
        changes=st.dictionaries(st.sampled_from(["paymentStatus", "fulfillmentStatus"]), text),
        restock=st.lists(st.builds(RestockItem, product_id=ids, combination_id=st.none() | ids,
                                   quantity=st.integers(1, 99), sku=text), max_size=2).map(tuple),
        payment_status=text, fulfillment_status=text,
        extra_fields=st.dictionaries(text, text, max_size=2),
        restock_marks=st.lists(text, max_size=3).map(tuple)),
    ActionKind.SHIP_PACKAGE: st.builds(ShipPackage, tiktok_order_id=text, ecwid_order_id=text,
                                       tracking_number=text, shipping_provider=text),
    ActionKind.CANCEL_ORDER: st.builds(CancelOrder, tiktok_order_id=text, ecwid_order_id=text, cancel_reason=text),
    ActionKind.APPROVE_CANCELLATION: st.builds(ApproveCancellation, cancel_id=text, tiktok_order_id=text),
    **{kind: st.builds(AnswerRequest, request_id=text, tiktok_order_id=text, decision=text, reject_reason=text,
                       comment=text)
       for kind in (ActionKind.REJECT_CANCELLATION, ActionKind.APPROVE_RETURN, ActionKind.REJECT_RETURN)},
}


def actions(payloads: dict[ActionKind, st.SearchStrategy]) -> st.SearchStrategy[Action]:  # type: ignore[type-arg]
    return st.sampled_from(sorted(payloads)).flatmap(lambda kind: st.builds(
        Action, kind=st.just(kind), key=text, ecwid_product_id=st.none() | ids, tiktok_product_id=st.none() | text,
        changes=changes, triggers_review=st.booleans(), payload=st.none() | payloads[kind], reason=text))


drifts = st.builds(
    Action, kind=st.sampled_from([ActionKind.UPDATE_PRODUCT, ActionKind.UPDATE_PRICE, ActionKind.UPDATE_INVENTORY]),
    key=text, ecwid_product_id=ids, tiktok_product_id=text, changes=changes,
    payload=st.builds(DriftRead, policy=st.sampled_from(["adopt", "revert"]), live=essences), reason=text,
)
blocked = st.lists(st.builds(ActionRequired, ecwid_product_id=st.integers(0, 99), rule=text, reason=text, fix=text,
                             sku=text, details=st.dictionaries(text, text | st.booleans(), max_size=2)),
                   max_size=2).map(tuple)
meta = st.dictionaries(text, st.integers(0, 99) | text, max_size=2)
listing_plans = st.builds(Plan, actions=st.lists(actions(LISTING_PAYLOADS), max_size=4).map(tuple),
                          drift=st.lists(drifts, max_size=2).map(tuple), blocked=blocked, inputs_digest=text, meta=meta)
order_plans = st.none() | st.builds(Plan, actions=st.lists(actions(ORDER_PAYLOADS), max_size=4).map(tuple),
                                    blocked=blocked, inputs_digest=text, meta=meta)


@settings(max_examples=examples(200, ci=100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=listing_plans, orders=order_plans)
def test_a_saved_plan_reads_back_as_the_same_typed_plan(plan: Plan, orders: Plan | None) -> None:
    assert saved_plan_from_json(plan_to_json(plan, orders=orders)) == (plan, orders)


def test_sku_fields_keep_their_seller_sku_and_their_printed_name() -> None:
    change = FieldChange("price", "1.00", "2.00", "rules/selling.yaml:3", sku="TS-RED].L")
    assert change.label == "skus[TS-RED].L].price"
    plan = Plan(actions=(Action(ActionKind.UPDATE_PRICE, "product:1", changes=(change,)),))
    assert '"field": "skus[TS-RED].L].price"' in plan_to_json(plan)
    assert saved_plan_from_json(plan_to_json(plan))[0] == plan
