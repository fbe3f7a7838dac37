"""Loaders for the real recorded responses in tests/data/recorded (see its SOURCES.md)."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

RECORDED = Path(__file__).parent / "data" / "recorded"


@dataclass
class Recording:
    source: str
    url: str
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


def tweepy_cassette(name: str) -> list[Recording]:
    data = yaml.safe_load((RECORDED / name).read_text())
    out = []
    for interaction in data["interactions"]:
        response = interaction["response"]
        raw = response["body"]["string"]
        body = gzip.decompress(raw) if isinstance(raw, bytes) else raw.encode()
        headers = {k.lower(): v[0] for k, v in response["headers"].items()}
        out.append(
            Recording(name, interaction["request"]["uri"], response["status"]["code"], headers, json.loads(body))
        )
    return out


_R_CONTENT = re.compile(r'content = charToRaw\("((?:[^"\\]|\\.)*)"\)', re.S)
_R_URL = re.compile(r'url = "([^"]*)"')
_R_STATUS = re.compile(r"status_code = (\d+)L")
_R_HEADER = re.compile(r'`?(x-rate-limit-[a-z]+)`? = "(\d+)"')


def academictwitter(path: Path) -> Recording:
    text = path.read_text()
    body = json.loads('"' + _R_CONTENT.search(text).group(1) + '"')  # R and JSON share these escapes
    headers = dict(_R_HEADER.findall(text))
    return Recording(
        str(path.relative_to(RECORDED)),
        _R_URL.search(text).group(1),
        int(_R_STATUS.search(text).group(1)),
        headers,
        json.loads(body),
    )


def all_listing_recordings() -> list[Recording]:
    recordings: list[Recording] = []
    for name in (
        "test_client_get_liking_users.yaml",
        "test_client_get_liked_tweets.yaml",
        "test_asyncclient_get_liking_users.yaml",
        "test_asyncclient_get_liked_tweets.yaml",
    ):
        recordings.extend(tweepy_cassette(name))
    for path in sorted((RECORDED / "cjbarrie_academictwitteR").rglob("*.R")):
        recordings.append(academictwitter(path))
    for path in sorted((RECORDED / "sns-sdks_python-twitter").rglob("*.json")):
        recordings.append(Recording(str(path.relative_to(RECORDED)), "", 200, {}, json.loads(path.read_text())))
    return recordings
