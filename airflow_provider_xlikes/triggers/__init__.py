"""Triggers of the X likes provider."""
