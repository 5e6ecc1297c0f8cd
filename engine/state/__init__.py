"""tokbridge engine.state."""
