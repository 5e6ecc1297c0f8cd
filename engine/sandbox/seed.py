"""Seed data for the Ecwid sandbox: a deterministic catalog generator and loading raw Ecwid JSON.

`generate_catalog(n, seed=s)` yields the same raw Ecwid product and category objects for the same
arguments, shaped as `GET /products` returns them: a category tree (Apparel/Men/T-Shirts, Home/
Kitchen, ...), Color/Size options with combinations that carry their own SKU and stock, gallery
images served by the sandbox, brands as BRAND attributes, cost and compare-to prices, some
unlimited stock, some disabled products, and a few deliberately problematic ones for the demo
(no image, an over-long title, a 100x100 image below TikTok's minimum, which Ecwid reports as
100x100 so preflight blocks it before any request).

`load_catalog_file(path)` reads what `tokbridge snapshot ecwid` writes (or a bare product list).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

BASE_TIME = 1_717_200_000  # 2024-06-01: fixed so a seed gives byte-identical catalogs
PRODUCT_ID_BASE = 500_000_000
COMBINATION_ID_BASE = 800_000_000

# (path, nouns, option plan, brand pool): the leaves products are filed under.
_LEAVES: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("Apparel/Men/T-Shirts", ("Crew Tee", "V-Neck Tee", "Pocket Tee", "Graphic Tee"), "color+size",
     ("Northwind", "Harbor & Pine", "Urban Fox")),
    ("Apparel/Men/Hoodies", ("Pullover Hoodie", "Zip Hoodie", "Fleece Hoodie"), "color+size",
     ("Northwind", "Summit Gear")),
    ("Apparel/Women/Dresses", ("Wrap Dress", "Midi Dress", "Sundress", "Shirt Dress"), "color+size",
     ("Lumen", "Harbor & Pine")),
    ("Apparel/Women/T-Shirts", ("Relaxed Tee", "Cropped Tee", "Boat-Neck Tee"), "color+size",
     ("Lumen", "Urban Fox")),
    ("Home/Kitchen", ("Chef's Knife", "Cutting Board", "Pour-Over Kettle", "Cast Iron Skillet", "Spice Jar Set"),
     "none", ("Copperline", "Oak & Ember")),
    ("Home/Decor", ("Throw Pillow", "Ceramic Vase", "Wall Clock", "Scented Candle"), "color",
     ("Oak & Ember", "Nordhem")),
    ("Electronics/Audio", ("Wireless Earbuds", "Bluetooth Speaker", "Over-Ear Headphones"), "color",
     ("Sonique", "Voltra")),
    ("Electronics/Accessories", ("USB-C Cable", "Phone Stand", "Power Bank", "Laptop Sleeve"), "none",
     ("Voltra", "Gridline")),
    ("Beauty/Skincare", ("Face Serum", "Night Cream", "Clay Mask", "Hydrating Toner"), "none",
     ("Glow Theory", "Pure Leaf")),
    ("Sports/Fitness", ("Yoga Mat", "Resistance Bands", "Jump Rope", "Water Bottle"), "color",
     ("Summit Gear", "Pulse")),
)
_EXTRA_CATEGORIES = ("Clearance",)
_ADJECTIVES = ("Classic", "Everyday", "Premium", "Organic", "Vintage", "Essential", "Lightweight", "Deluxe",
               "Eco", "Signature")
_COLORS = ("Black", "White", "Navy", "Heather Grey", "Forest Green", "Red")
_SIZES = ("XS", "S", "M", "L", "XL")
_MATERIALS = {"Apparel": ("100% Cotton", "Cotton/Polyester", "Organic Cotton", "Linen"),
              "Home": ("Ceramic", "Stainless Steel", "Oak", "Cotton"),
              "Electronics": ("Aluminium", "ABS Plastic", "Silicone"),
              "Beauty": ("Vegan", "Paraben-free"),
              "Sports": ("TPE", "Natural Rubber", "Nylon")}


@dataclass
class SeedCatalog:
    """Raw Ecwid JSON: product objects (with `combinations`), categories, and optionally a profile."""

    products: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    profile: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _number(value: Decimal) -> int | float:
    # Raw Ecwid JSON carries money as JSON numbers; two-decimal values round-trip through float exactly
    # enough for json.dumps to print them back as written.
    return int(value) if value == value.to_integral_value() else float(value)


def served_size(url: str) -> dict[str, int]:
    """`{width, height}` of the PNG the sandbox serves at `url` (its name decides the size, images.py)."""
    # Imported here: the Ecwid sandbox's package imports this module, so a top-level import would make
    # `import engine.sandbox.seed` (the benchmarks' first import) a circular one.
    from engine.sandbox.ecwid.images import image_size

    name = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".png")
    width, height = image_size(name)
    return {"width": width, "height": height}


def image_fields(urls: list[str]) -> dict[str, Any]:
    """The image fields Ecwid puts on a product for a main image plus a gallery (one rendition per size
    here), with the pixel size Ecwid reports for each original (`originalImage`, `galleryImages[]`)."""
    if not urls:
        return {"galleryImages": [], "media": {"images": [], "videos": []}}
    main = urls[0]
    return {
        "thumbnailUrl": main, "imageUrl": main, "smallThumbnailUrl": main, "hdThumbnailUrl": main,
        "originalImageUrl": main, "originalImage": {"url": main, **served_size(main)},
        "galleryImages": [
            {"id": n, "url": u, "thumbnail": u, "originalImageUrl": u, "imageUrl": u, "hdThumbnailUrl": u,
             "thumbnailUrl": u, "smallThumbnailUrl": u, **served_size(u), "orderBy": n}
            for n, u in enumerate(urls[1:], start=1)
        ],
        "media": {"images": [
            {"id": str(n), "isMain": n == 0, "orderBy": n, "image160pxUrl": u, "image400pxUrl": u,
             "image800pxUrl": u, "image1500pxUrl": u, "imageOriginalUrl": u}
            for n, u in enumerate(urls)
        ], "videos": []},
    }


def _categories() -> tuple[list[dict[str, Any]], dict[str, int]]:
    ids: dict[str, int] = {}
    items: list[dict[str, Any]] = []
    paths = [leaf[0] for leaf in _LEAVES] + list(_EXTRA_CATEGORIES)
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            sub = "/".join(parts[:depth])
            if sub in ids:
                continue
            cat_id = 1000 + len(ids) + 1
            ids[sub] = cat_id
            item: dict[str, Any] = {"id": cat_id, "orderBy": 10 * len(ids), "name": parts[depth - 1],
                                    "enabled": True, "description": f"<p>{parts[depth - 1]}</p>"}
            if depth > 1:
                item["parentId"] = ids["/".join(parts[:depth - 1])]
            items.append(item)
    return items, ids


def generate_catalog(n_products: int, *, seed: int = 0, image_base_url: str = "http://127.0.0.1/images/1",
                     problematic: bool = True) -> SeedCatalog:
    """`n_products` raw Ecwid products over a fixed category tree; the same arguments give the same JSON."""
    rng = random.Random(seed)
    categories, category_ids = _categories()
    products: list[dict[str, Any]] = []
    next_combination = COMBINATION_ID_BASE
    base = image_base_url.rstrip("/")
    for index in range(n_products):
        product_id = PRODUCT_ID_BASE + index + 1
        path, nouns, plan, brands = _LEAVES[rng.randrange(len(_LEAVES))]
        top = path.split("/")[0]
        noun = rng.choice(nouns)
        brand = rng.choice(brands)
        name = f"{rng.choice(_ADJECTIVES)} {noun}"
        price = Decimal(rng.randrange(499, 15000)) / 100
        cost = (price * Decimal(rng.randrange(30, 60)) / 100).quantize(Decimal("0.01"))
        sku = f"TB-{product_id - PRODUCT_ID_BASE:06d}"
        material = rng.choice(_MATERIALS[top])
        unlimited = rng.random() < 0.1
        stock = rng.randrange(0, 120)
        now = BASE_TIME + index * 60
        images = [f"{base}/p{product_id}-{k}.png" for k in range(rng.randrange(1, 4))]
        cat_ids = [category_ids[path]]
        if rng.random() < 0.08:
            cat_ids.append(category_ids["Clearance"])
        raw: dict[str, Any] = {
            "id": product_id,
            "sku": sku,
            "name": name,
            "description": (f"<p>The {name.lower()} by <strong>{brand}</strong>.</p>"
                            f"<ul><li>Material: {material}</li><li>Ships in 1-2 business days</li></ul>"),
            "price": _number(price),
            "costPrice": _number(cost),
            "enabled": rng.random() >= 0.05,
            "unlimited": unlimited,
            "weight": _number(Decimal(rng.randrange(5, 300)) / 100),
            "dimensions": {"length": rng.randrange(5, 60), "width": rng.randrange(5, 40),
                           "height": rng.randrange(1, 20)},
            "categoryIds": cat_ids,
            "defaultCategoryId": cat_ids[0],
            "attributes": [
                {"id": 1, "name": "Brand", "value": brand, "type": "BRAND", "show": "DESCR"},
                {"id": 2, "name": "Material", "value": material, "type": "CUSTOM", "show": "DESCR"},
                {"id": 3, "name": "UPC", "value": f"0{product_id:011d}", "type": "UPC", "show": "NOTSHOW"},
            ],
            "createTimestamp": now,
            "updateTimestamp": now,
            "options": [],
            "combinations": [],
        }
        if not unlimited:
            raw["quantity"] = stock
        if rng.random() < 0.3:
            raw["compareToPrice"] = _number((price * Decimal("1.25")).quantize(Decimal("0.01")))
        option_names = {"color+size": ("Color", "Size"), "color": ("Color",), "none": ()}[plan]
        if option_names:
            colors = rng.sample(_COLORS, rng.randrange(2, 4))
            sizes = list(_SIZES[rng.randrange(0, 2):rng.randrange(3, 6)])
            values = {"Color": colors, "Size": sizes}
            raw["options"] = [
                {"type": "SELECT" if opt == "Color" else "SIZE", "name": opt, "required": True,
                 "choices": [{"text": v, "priceModifier": 2 if opt == "Size" and v == "XL" else 0,
                              "priceModifierType": "ABSOLUTE"} for v in values[opt]],
                 "defaultChoice": 0}
                for opt in option_names
            ]
            choices: list[tuple[str, ...]] = [(c,) for c in colors]
            if "Size" in option_names:
                choices = [(c, s) for c in colors for s in sizes]
            for number, combo in enumerate(choices, start=1):
                next_combination += 1
                suffix = "-".join(v.replace(" ", "").upper()[:4] for v in combo)
                variation: dict[str, Any] = {
                    "id": next_combination,
                    "combinationNumber": number,
                    "options": [{"name": opt, "value": v} for opt, v in zip(option_names, combo, strict=True)],
                    "sku": f"{sku}-{suffix}",
                    "unlimited": unlimited,
                }
                if not unlimited:
                    variation["quantity"] = rng.randrange(0, 40)
                if "XL" in combo:
                    variation["price"] = _number(price + 2)
                raw["combinations"].append(variation)
        if problematic and index % 50 == 17:
            images = []  # no image: the list rule's `product.images` fails
        if problematic and index % 50 == 29:
            raw["name"] = (f"{name} " + " ".join(["with extra long marketing copy that no marketplace accepts"] * 5))
        if problematic and index % 50 == 41 and images:
            images = [f"{base}/p{product_id}-0-100x100.png"]  # below TikTok's minimum image size
        raw.update(image_fields(images))
        products.append(raw)
    return SeedCatalog(products=products, categories=categories)


class CatalogFileError(ValueError):
    """A catalog file that is not Ecwid JSON; the message names the file and the problem."""


def load_catalog_file(path: str | Path) -> SeedCatalog:
    """Read `tokbridge snapshot ecwid` output ({products, categories, profile}) or a bare list of products."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogFileError(f"{source}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CatalogFileError(f"{source}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    if isinstance(data, list):
        data = {"products": data}
    if not isinstance(data, dict) or not isinstance(data.get("products"), list):
        raise CatalogFileError(f"{source}: expected a list of Ecwid products or an object with `products`")
    for n, product in enumerate(data["products"]):
        if not isinstance(product, dict) or not isinstance(product.get("id"), int):
            raise CatalogFileError(f"{source}: products[{n}]: an Ecwid product needs an integer `id`")
    categories = data.get("categories") or []
    if not isinstance(categories, list):
        raise CatalogFileError(f"{source}: `categories` must be a list")
    return SeedCatalog(products=data["products"], categories=categories, profile=data.get("profile"))
