"""The package's version, written once (pyproject, the provider info and the package read it)."""

__version__ = "0.1.0"
