"""`tokbridge explain`: one Ecwid product through the rules, step by step. Reads Ecwid only."""

from __future__ import annotations

from engine.config.types import Config
from engine.ecwid import EcwidClient
from engine.http import NotFoundError
from engine.model.catalog import Product, UnreadableProduct
from engine.model.errors import TokbridgeError
from engine.rules import ProductEvaluation, evaluate_product
from engine.rules.evaluation import unreadable_problem


class ProductNotFoundError(TokbridgeError):
    """No Ecwid product has the id or SKU the merchant named."""


def find_product(client: EcwidClient, target: str) -> Product | UnreadableProduct:
    """The Ecwid product with this id, else with this SKU (an all-digit SKU is still a SKU)."""
    categories = client.get_categories()
    product = None
    if target.isdigit():
        try:
            product = client.get_product(int(target), categories=categories)
        except NotFoundError:
            product = None
    if product is None:
        product = client.find_by_sku(target, categories=categories)
    if product is None:
        raise ProductNotFoundError(f"no Ecwid product with id or SKU {target!r}")
    return product


def explain_product(config: Config, client: EcwidClient, target: str) -> ProductEvaluation:
    """Evaluate the named product with the store's profile, keeping the trace of every value."""
    profile = client.get_profile()
    product = find_product(client, target)
    if isinstance(product, UnreadableProduct):
        return ProductEvaluation(listing=None, action_required=(unreadable_problem(product),))
    return evaluate_product(config, product, profile=profile)
