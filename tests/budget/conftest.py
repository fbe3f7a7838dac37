"""Fixtures of the shared-budget tests: the real-Airflow harness and a meter of sandbox windows."""

from __future__ import annotations

from airflow_cluster import airflow_cluster_factory

__all__ = ["airflow_cluster_factory"]
