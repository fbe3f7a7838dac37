"""Apache Airflow provider for the X API v2 likes endpoints."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
