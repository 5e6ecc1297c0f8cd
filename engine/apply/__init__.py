"""tokbridge engine.apply."""
