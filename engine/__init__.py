"""tokbridge engine: Ecwid catalog + YAML policies -> desired TikTok Shop state -> plan -> apply."""
