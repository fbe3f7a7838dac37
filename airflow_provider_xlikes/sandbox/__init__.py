"""Offline X API sandbox (coming)."""
