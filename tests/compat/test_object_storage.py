"""Output locations keep the storage connection named in the URI on every supported release
(3.1's ``ObjectStoragePath(uri, conn_id=None)`` would send them to the real AWS endpoint)."""

from __future__ import annotations

from helpers import s3_client

from airflow_provider_xlikes.output.layout import as_storage_path
from airflow_provider_xlikes.version_compat import storage_conn_id


def _read(endpoint: str, bucket: str, key: str) -> bytes:
    return s3_client(endpoint).get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_connection_in_the_uri_is_used(s3_endpoint: str, s3_bucket: str) -> None:
    path = as_storage_path(f"s3://aws_default@{s3_bucket}/likes")
    assert storage_conn_id(path) == "aws_default"
    (path / "part.jsonl").write_bytes(b'{"id": "1"}\n')  # aws_default points at the local S3 server
    assert _read(s3_endpoint, s3_bucket, "likes/part.jsonl") == b'{"id": "1"}\n'
    assert [p.name for p in path.iterdir()] == ["part.jsonl"]


def test_a_connection_passed_apart_from_the_uri_is_used(s3_endpoint: str, s3_bucket: str) -> None:
    path = as_storage_path(f"s3://{s3_bucket}/likes", "aws_default")
    assert storage_conn_id(path) == "aws_default"
    (path / "a" / "b.json").write_bytes(b"{}")
    assert _read(s3_endpoint, s3_bucket, "likes/a/b.json") == b"{}"


def test_a_path_without_a_connection_has_none() -> None:
    assert storage_conn_id(as_storage_path("s3://bucket/likes")) is None
    local = as_storage_path("/tmp/xlikes-out")
    assert str(local) == "file:///tmp/xlikes-out"
    assert storage_conn_id(local) is None
