"""One module per use case, shared by the CLI and the watch daemon.

- `engine.passes.catalog`: plan the catalog (`plan_catalog`), refresh reviews, carry a plan out
  within the guardrails, the shop's health and the upload quota (`apply_catalog`);
- `engine.passes.orders`: collect, plan and sync orders, and their poll cursors;
- `engine.passes.health`: the shop's health, probed from TikTok;
- `engine.passes.run`: the `apply` use case as a whole (prepare both plans, carry both out), which
  `tokbridge apply` and a daemon cycle share.
"""
