"""tokbridge engine.orders."""
