"""Test helpers for users of the provider: the sandbox pytest plugin."""
