"""tokbridge engine.reconcile."""
