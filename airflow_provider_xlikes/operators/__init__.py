"""Operators of the X likes provider."""
