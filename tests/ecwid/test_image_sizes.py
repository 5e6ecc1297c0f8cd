"""Image sizes as Ecwid reports them: the sandbox serves `originalImage{url, width, height}` and
`galleryImages[]{..., width, height}` for every image it holds, equal to the PNG it serves at that
URL; the converter carries them into `Product.image_sizes` (by the original's URL only)."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import httpx
import pytest

from engine.ecwid import EcwidClient
from engine.ecwid.converters import ConversionError, product_from_json, read_product
from engine.model.catalog import ImageSize, Product, UnreadableProduct
from engine.sandbox.ecwid import start_ecwid_sandbox
from tests.ecwid.conftest import FakeClock

SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "ecwid"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_sandbox_reports_the_size_of_every_image_it_serves(clock: FakeClock) -> None:
    # 45 products: the seed's 100x100 product (index 41) is among them.
    with start_ecwid_sandbox(n_products=45, seed=0, clock=clock) as running, httpx.Client() as http, \
            EcwidClient(running.base_url, running.store_id, running.token, clock=clock, sleep=clock.sleep) as client:
        items = list(client.iter_products_json())  # GET /products, as the connector reads it
        assert len(items) == 45
        images: list[dict[str, Any]] = []
        for raw in items:
            if raw.get("originalImage"):
                images.append(raw["originalImage"])
            images += [{"url": g["originalImageUrl"], "width": g["width"], "height": g["height"]}
                       for g in raw.get("galleryImages", ())]
        assert len(images) > 45 - 3  # a few seeded products have no image
        for image in images:
            assert (image["width"], image["height"]) == _png_size(http.get(image["url"]).content), image["url"]
        assert sum(1 for i in images if (i["width"], i["height"]) == (100, 100)) == 1


def test_the_converter_keys_each_size_by_the_original_url() -> None:
    raw = {"id": 7, "sku": "MUG-7", "name": "Mug", "price": 12.5, "quantity": 4,
           "originalImageUrl": "https://img.example/7.jpg", "imageUrl": "https://img.example/7-1500.jpg",
           "originalImage": {"url": "https://img.example/7.jpg", "width": 1200, "height": 900},
           "galleryImages": [
               {"id": 1, "originalImageUrl": "https://img.example/7-a.jpg", "imageUrl": "https://img.example/7-a-1500.jpg",
                "width": 120, "height": 80, "orderBy": 1},
               {"id": 2, "originalImageUrl": "https://img.example/7-b.jpg", "width": 0, "height": 0, "orderBy": 2},
               {"id": 3, "originalImageUrl": "https://img.example/7-c.jpg", "orderBy": 3},
           ]}
    product = product_from_json(raw, {})
    assert product.images == ("https://img.example/7.jpg", "https://img.example/7-a.jpg",
                              "https://img.example/7-b.jpg", "https://img.example/7-c.jpg")
    # Ecwid's 0 and an absent size mean "not known"; the resized renditions have no known size.
    assert dict(product.image_sizes) == {"https://img.example/7.jpg": ImageSize(1200, 900),
                                         "https://img.example/7-a.jpg": ImageSize(120, 80)}


def test_the_documented_sample_carries_its_size() -> None:
    raw = json.loads((SAMPLES / "product_get_response.modern.json").read_text())
    product = product_from_json(raw, {})
    assert product.image_sizes[raw["originalImageUrl"]] == ImageSize(225, 225)


def test_a_size_that_is_not_a_number_names_the_field() -> None:
    raw = {"id": 7, "name": "Mug", "price": 1, "originalImage": {"url": "https://img.example/7.jpg",
                                                                  "width": "wide", "height": 10}}
    read = read_product(raw, {})
    assert isinstance(read, UnreadableProduct) and read.field == "originalImage.width", read
    with pytest.raises(ConversionError):
        product_from_json(raw, {})
    assert not isinstance(read, Product)
