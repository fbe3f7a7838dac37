"""Sensors of the X likes provider."""
