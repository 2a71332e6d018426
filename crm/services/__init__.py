"""Writes. Keyword-only functions named `<entity>_<verb>`, each owning its transaction."""
