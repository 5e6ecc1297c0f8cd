"""The essence of a listing and what the reconciler knows about a TikTok product. Pure; no I/O.

An `Essence` is the part of a listing the reconciler compares (kopf's "diffbase"): content fields,
and per SKU its sales attributes, price and quantity. Both sides use the desired normal form:
images are *source* URLs (the state store maps TikTok URIs back), money is Decimal.

An `ActualListing` is one linked TikTok product as the reconciler sees it, built either from the
state store alone or from the state store plus a live TikTok read; the shape is the same:

- `applied`: what the rules said for each field the last time it was sent (policy changes are
  detected against this);
- `known`: what TikTok held after our last write or the last adopted drift;
- `live`: a fresh TikTok read, or None when planning from state. Drift is `live != known`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from engine.model.jsontext import canonical_json as canonical_json  # re-exported: the stored form's writer
from engine.model.listing import (
    AuditFailure,
    DesiredListing,
    ListingContent,
    PackageDimensions,
    PackageWeight,
    ProductAttribute,
    ProductStatus,
    SalesAttribute,
    TikTokProduct,
)
from engine.model.listing import (
    Essence as Essence,  # re-exported: the reconciler's name for it
)
from engine.model.listing import (
    EssenceSku as EssenceSku,
)
from engine.model.money import cents

# Content fields compared one by one; each maps to the `revise` flag that lets a live listing be
# edited for it. "skus" (the SKU set and its sales attributes) has no flag: without it a new Ecwid
# variant could never be listed, nor its price or stock synced.
CONTENT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ListingContent))
REVISE_FLAG: Mapping[str, str] = {
    "title": "title",
    "description": "description",
    "category_id": "category",
    "brand": "attributes",
    "main_images": "images",
    "product_attributes": "attributes",
    "package_weight": "attributes",
    "package_dimensions": "attributes",
}
SKU_SET = "skus"
PRICE = "price"
QUANTITY = "quantity"


@dataclass(frozen=True, slots=True)
class ActualListing:
    ecwid_product_id: int
    tiktok_product_id: str
    status: ProductStatus
    applied: Essence
    known: Essence
    sku_ids: Mapping[str, str] = field(default_factory=dict)  # seller_sku -> TikTok SKU id
    stopped_by_us: bool = False  # our own deactivate (a STOP rule), as opposed to a Seller Center stop
    live: Essence | None = None
    audit_failures: tuple[AuditFailure, ...] = ()

    @property
    def current(self) -> Essence:
        """What TikTok holds now, as far as we know."""
        return self.live if self.live is not None else self.known


def _money(value: Decimal) -> Decimal:
    return cents(value, ROUND_HALF_EVEN)  # a normal form for comparing, not a price rule


def _sorted_skus(skus: Iterable[EssenceSku]) -> tuple[EssenceSku, ...]:
    return tuple(sorted(skus, key=lambda s: s.seller_sku))


def _sorted_attributes(attributes: Iterable[ProductAttribute]) -> tuple[ProductAttribute, ...]:
    return tuple(sorted(attributes, key=lambda a: (a.id, a.name)))


# essence_of and essence_from_tiktok must give the same normal form (money to cents, SKUs by seller
# SKU, attributes by id), or every live read would show drift; the sorting lives in the two helpers.
def essence_of(listing: DesiredListing) -> Essence:
    """The comparable part of a desired listing."""
    skus = _sorted_skus(
        EssenceSku(
            seller_sku=s.seller_sku,
            price=_money(s.price),
            quantity=s.quantity,
            sales_attributes=s.sales_attributes,
            list_price=None if s.list_price is None else _money(s.list_price),
        )
        for s in listing.skus
    )
    return Essence(
        title=listing.title,
        description=listing.description,
        category_id=listing.category_id,
        brand=listing.brand,
        main_images=listing.main_images,
        product_attributes=_sorted_attributes(listing.product_attributes),
        package_weight=listing.package_weight,
        package_dimensions=listing.package_dimensions,
        skus=skus,
    )


def essence_from_tiktok(product: TikTokProduct, *, known: Essence, image_sources: Mapping[str, str]) -> Essence:
    """A live TikTok read in the desired normal form.

    Image URIs map back to the source URLs they were uploaded from (an unknown URI, e.g. an image
    added in Seller Center, stays as the URI so it shows as drift). The brand is the name of the
    brand TikTok shows (Get Product's `brand{id, name}`; the listing was sent the id of the brand the
    rules named, so another name there is another brand: drift). The same name in other letter case
    is the brand the rules named. Get Product leaves `brand` out when the product has none (the
    brand was removed in Seller Center): no brand, drift from a brand the rules set. A Search
    Products entry never carries a brand and cannot tell, so `known` stands for it.
    """
    skus = _sorted_skus(
        EssenceSku(
            seller_sku=s.seller_sku,
            price=_money(s.price),
            quantity=s.quantity,
            sales_attributes=s.sales_attributes,
            list_price=_known_list_price(known, s.seller_sku),
        )
        for s in product.skus
    )
    return Essence(
        title=product.title,
        description=product.description,
        category_id=product.category_id,
        brand=_live_brand(product, known.brand),
        main_images=tuple(image_sources.get(uri, uri) for uri in product.main_images),
        product_attributes=_sorted_attributes(product.product_attributes),
        package_weight=product.package_weight,
        package_dimensions=product.package_dimensions,
        skus=skus,
    )


def _live_brand(product: TikTokProduct, known: str) -> str:
    if not product.brand_name:
        return "" if product.shows_brand else known
    if product.brand_name.casefold() == known.casefold():
        return known
    return product.brand_name


def _known_list_price(known: Essence, seller_sku: str) -> Decimal | None:
    # Product reads do not reliably echo list_price across API versions; trust what we sent.
    sku = known.sku(seller_sku)
    return None if sku is None else sku.list_price


def merge(base: Essence, new: Essence, fields: Iterable[str]) -> Essence:
    """`base` with the named fields taken from `new`: what a successful partial write leaves behind.

    "price" and "quantity" take those values for every SKU both sides have; "skus" takes the whole
    SKU list (a partial edit of skus must send every SKU complete, prices and stock included).
    """
    out = base
    for name in fields:
        if name in CONTENT_FIELDS:
            out = dataclasses.replace(out, **{name: getattr(new, name)})
        elif name == SKU_SET:
            out = dataclasses.replace(out, skus=new.skus)
        elif name in (PRICE, QUANTITY):
            skus = []
            for sku in out.skus:
                source = new.sku(sku.seller_sku)
                if source is None:
                    skus.append(sku)
                elif name == PRICE:
                    skus.append(dataclasses.replace(sku, price=source.price, list_price=source.list_price))
                else:
                    skus.append(dataclasses.replace(sku, quantity=source.quantity))
            out = dataclasses.replace(out, skus=tuple(skus))
        else:
            raise ValueError(f"unknown essence field {name!r}")
    return out


# JSON forms: used by the state store's columns and by plan files. Decimals travel as strings.


def _attr_json(a: ProductAttribute) -> dict[str, Any]:
    return {"id": a.id, "name": a.name, "values": list(a.values)}


def _sales_json(attrs: tuple[SalesAttribute, ...]) -> list[dict[str, str]]:
    return [{"name": a.name, "value": a.value} for a in attrs]


def weight_json(w: PackageWeight | None) -> dict[str, str] | None:
    return None if w is None else {"value": str(w.value), "unit": w.unit}


def dimensions_json(d: PackageDimensions | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"length": d.length, "width": d.width, "height": d.height, "unit": d.unit}


def attribute_from_json(data: Mapping[str, Any]) -> ProductAttribute:
    return ProductAttribute(id=data["id"], name=data["name"], values=tuple(data["values"]))


def sales_from_json(data: Iterable[Mapping[str, str]]) -> tuple[SalesAttribute, ...]:
    return tuple(SalesAttribute(name=a["name"], value=a["value"]) for a in data)


def weight_from_json(data: Mapping[str, str] | None) -> PackageWeight | None:
    return None if data is None else PackageWeight(value=Decimal(data["value"]), unit=data["unit"])


def dimensions_from_json(data: Mapping[str, Any] | None) -> PackageDimensions | None:
    if data is None:
        return None
    return PackageDimensions(
        length=int(data["length"]), width=int(data["width"]), height=int(data["height"]), unit=data["unit"]
    )


def content_to_json(c: ListingContent) -> dict[str, Any]:
    """The content fields of a desired listing or an essence: one JSON form for both."""
    return {
        "title": c.title,
        "description": c.description,
        "category_id": c.category_id,
        "brand": c.brand,
        "main_images": list(c.main_images),
        "product_attributes": [_attr_json(a) for a in c.product_attributes],
        "package_weight": weight_json(c.package_weight),
        "package_dimensions": dimensions_json(c.package_dimensions),
    }


def content_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    """The content fields read back, as keyword arguments of `DesiredListing` or `Essence`."""
    return {
        "title": data["title"],
        "description": data["description"],
        "category_id": data["category_id"],
        "brand": data["brand"],
        "main_images": tuple(data["main_images"]),
        "product_attributes": tuple(attribute_from_json(a) for a in data["product_attributes"]),
        "package_weight": weight_from_json(data["package_weight"]),
        "package_dimensions": dimensions_from_json(data["package_dimensions"]),
    }


def essence_to_json(e: Essence) -> dict[str, Any]:
    return {
        **content_to_json(e),
        "skus": [
            {
                "seller_sku": s.seller_sku,
                "price": str(s.price),
                "quantity": s.quantity,
                "sales_attributes": _sales_json(s.sales_attributes),
                "list_price": None if s.list_price is None else str(s.list_price),
            }
            for s in e.skus
        ],
    }


def essence_from_json(data: Mapping[str, Any]) -> Essence:
    return Essence(
        **content_from_json(data),
        skus=tuple(
            EssenceSku(
                seller_sku=s["seller_sku"],
                price=Decimal(s["price"]),
                quantity=int(s["quantity"]),
                sales_attributes=sales_from_json(s["sales_attributes"]),
                list_price=None if s["list_price"] is None else Decimal(s["list_price"]),
            )
            for s in data["skus"]
        ),
    )


def audit_failure_to_json(f: AuditFailure) -> dict[str, Any]:
    return {"position": f.position, "reasons": list(f.reasons), "suggestions": list(f.suggestions)}


def audit_failure_from_json(data: Mapping[str, Any]) -> AuditFailure:
    return AuditFailure(
        position=data["position"], reasons=tuple(data["reasons"]), suggestions=tuple(data["suggestions"])
    )


def essence_hash(e: Essence) -> str:
    """Stable hash of an essence: equal essences, equal hashes, across processes and versions."""
    return hashlib.sha256(canonical_json(essence_to_json(e)).encode()).hexdigest()


def desired_essence_json(listing: DesiredListing, content: Mapping[str, Any] | None = None,
                         sales: Sequence[list[dict[str, str]]] | None = None) -> dict[str, Any]:
    """`essence_to_json(essence_of(listing))`: the same JSON, with `essence_of`'s normal form (SKUs by seller
    SKU, attributes by id and name, money to cents).

    `content` (`content_to_json(listing)`) and `sales` (each SKU's `_sales_json`, in the listing's order) are
    the parts the listing's own JSON already holds (`engine.reconcile.codec.listing_texts`): reused, not
    written again; the attributes' and SKUs' JSON are put in the essence's order by sorting their indices
    with `_sorted_attributes`'s and `_sorted_skus`'s keys (stable, as `sorted` of the values is)."""
    if content is None:
        content = content_to_json(listing)
    attributes, skus = listing.product_attributes, listing.skus
    written = content["product_attributes"]
    essence = dict(content)
    essence["product_attributes"] = [
        written[i] for i in sorted(range(len(attributes)), key=lambda i: (attributes[i].id, attributes[i].name))
    ]
    essence["skus"] = [
        {
            "seller_sku": s.seller_sku,
            "price": str(_money(s.price)),
            "quantity": s.quantity,
            "sales_attributes": _sales_json(s.sales_attributes) if sales is None else sales[i],
            "list_price": None if s.list_price is None else str(_money(s.list_price)),
        }
        for i, s in sorted(enumerate(skus), key=lambda pair: pair[1].seller_sku)
    ]
    return essence
