"""Command-line helpers for developers (not part of the worker image's entry path)."""
