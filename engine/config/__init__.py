"""tokbridge engine.config."""
