"""TikTok Shop Open API (202309) client: signed httpx calls and JSON <-> engine.model converters."""
