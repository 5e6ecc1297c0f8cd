"""tokbridge engine.watch."""
