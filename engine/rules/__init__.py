"""tokbridge engine.rules."""
