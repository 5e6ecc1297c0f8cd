"""tokbridge engine.sandbox."""
