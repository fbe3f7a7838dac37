"""Starting the sandbox for tests: in a subprocess (``start_sandbox``) or a thread, plus clients."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import requests

from airflow_provider_xlikes.sandbox.config import Fault, SandboxConfig
from airflow_provider_xlikes.sandbox.connections import conn_json

API_HOSTS = ("https://api.twitter.com", "https://api.x.com")


class AdminClient:
    """A small ``requests`` client for the ``/_sandbox/`` admin API."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _get(self, path: str, **params: Any) -> Any:
        r = self.session.get(f"{self.url}/_sandbox/{path}", params=params or None, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def _post(self, path: str, payload: Any = None) -> Any:
        r = self.session.post(f"{self.url}/_sandbox/{path}", json=payload, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def health(self) -> bool:
        return bool(self._get("health").get("ok"))

    def request_counts(self) -> dict[str, Any]:
        """``{"total", "by_endpoint", "by_token": {fingerprint: {endpoint: n}}, "by_status"}``."""
        return dict(self._get("requests"))

    def total_requests(self, endpoint: str | None = None) -> int:
        counts = self.request_counts()
        return int(counts["total"] if endpoint is None else counts["by_endpoint"].get(endpoint, 0))

    def served(self) -> dict[str, dict[str, dict[str, int]]]:
        """Resources served in 200s: ``{endpoint: {"data": {kind: n}, "includes": {kind: n}}}``
        (kinds as X bills them: ``posts``, ``users``, ``media``, ``places``, ``polls``)."""
        return dict(self._get("requests")["served"])

    def usage(self) -> dict[str, Any]:
        """The billing cycle: ``{"post_reads", "monthly_post_cap", "by_day"}``."""
        return dict(self._get("usage"))

    def set_post_reads(self, count: int) -> dict[str, Any]:
        """Set the cycle's posts read (as if read today): ``set_post_reads(cap)`` spends the cap."""
        return dict(self._post("usage", {"post_reads": count}))

    def reset(self, **quirks: Any) -> dict[str, Any]:
        """Counters, rate limits, faults, quirks, likes, tokens and clock back to start; then the
        ``quirks`` changes, e.g. ``reset(clean=True)`` (paging quirks off); returns the quirks."""
        return dict(self._post("reset", quirks)["quirks"])

    def set_faults(self, *faults: Fault | Mapping[str, Any] | str, replace: bool = True) -> list[dict[str, Any]]:
        """Install faults (``Fault``, dict or ``"kind,key=value"`` strings); ``replace`` drops others."""
        items = [
            f.to_dict() if isinstance(f, Fault) else Fault.parse(f).to_dict() if isinstance(f, str) else dict(f)
            for f in faults
        ]
        return list(self._post("faults", {"faults": items, "replace": replace})["faults"])

    def faults(self) -> list[dict[str, Any]]:
        return list(self._get("faults")["faults"])

    def clear_faults(self) -> None:
        r = self.session.delete(f"{self.url}/_sandbox/faults", timeout=self.timeout)
        r.raise_for_status()

    def set_quirks(self, **quirks: Any) -> dict[str, Any]:
        return dict(self._post("quirks", quirks))

    def quirks(self) -> dict[str, Any]:
        return dict(self._get("quirks"))

    def world(self) -> dict[str, Any]:
        """World summary: seed, sizes, ``me`` (id, username), ``featured_posts`` [{id, likers}]."""
        return dict(self._get("world"))

    def likers(self, post_id: str, limit: int = 10000) -> list[str]:
        """Ground truth: ids of the users who like ``post_id``, newest first (small lists only)."""
        return list(self._get(f"likers/{post_id}", limit=limit)["ids"])

    def head(self, listing: str, id_: str, n: int) -> dict[str, Any]:
        """The newest ``n`` ids of ``listing`` (``"likers"`` of a post, ``"liked"`` posts of a
        user) and its ``count``, however long it is: ``{"id", "count", "ids"}``."""
        return dict(self._get(f"{listing}/{id_}", head=n))

    def change_likes(
        self, post_id: str, *, add: bool, count: int | None = None, user_ids: list[str] | None = None
    ) -> dict[str, Any]:
        """The admin API's whole answer to adding (``add``) or removing likers:
        ``{"id", "added" or "removed", "count"}`` (``count``: the post's likers now)."""
        payload = {"count": count} if user_ids is None else {"user_ids": list(user_ids)}
        method = "POST" if add else "DELETE"
        r = self.session.request(method, f"{self.url}/_sandbox/likers/{post_id}", json=payload, timeout=self.timeout)
        r.raise_for_status()
        return dict(r.json())

    def add_likes(self, post_id: str, count: int | None = None, user_ids: list[str] | None = None) -> list[str]:
        """``count`` new likers (or the users ``user_ids``) like ``post_id`` now: they head its
        listing, newest first; returns their ids, newest first."""
        return list(self.change_likes(post_id, add=True, count=count, user_ids=user_ids)["added"])

    def remove_likes(self, post_id: str, count: int | None = None, user_ids: list[str] | None = None) -> list[str]:
        """The ``count`` newest likers (or the users ``user_ids``) unlike ``post_id``; returns them."""
        return list(self.change_likes(post_id, add=False, count=count, user_ids=user_ids)["removed"])

    def liked(self, user_id: str, limit: int = 10000) -> list[str]:
        """Ground truth: ids of the posts ``user_id`` likes, newest first (small lists only)."""
        return list(self._get(f"liked/{user_id}", limit=limit)["ids"])

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock (token expiry, rate-limit windows) forward; returns the offset."""
        return float(self._post("clock", {"advance": seconds})["offset"])

    def tokens(self) -> dict[str, Any]:
        return dict(self._get("tokens"))

    def rate_limits(self) -> list[dict[str, Any]]:
        return list(self._get("rate_limits")["windows"])


class _SandboxBase:
    url: str
    credentials: dict[str, Any]
    admin: AdminClient

    def conn_json(self, auth_type: str = "bearer") -> str:
        """JSON connection value for ``AIRFLOW_CONN_X_DEFAULT`` (``bearer``, ``bearer_keys``,
        ``oauth2_user``, ``oauth1_user``)."""
        return conn_json(self.url, self.credentials, auth_type)

    @property
    def user_id(self) -> str:
        return str(self.credentials["user_id"])

    def session(self) -> requests.Session:
        """A ``requests.Session`` sending ``https://api.twitter.com`` / ``api.x.com`` URLs here."""
        return redirect_session(self.url)

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> _SandboxBase:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SandboxProcess(_SandboxBase):
    """A sandbox server running in its own subprocess (its memory and CPU are its own)."""

    def __init__(self, proc: subprocess.Popen[bytes], workdir: str, info: dict[str, Any]) -> None:
        self.proc = proc
        self.workdir = workdir
        self.url = str(info["url"])
        self.pid = int(info["pid"])
        self.credentials = dict(info["credentials"])
        self.admin = AdminClient(self.url)

    def stop(self, timeout: float = 10.0) -> int | None:  # type: ignore[override]
        """SIGTERM, wait, SIGKILL if needed; returns the exit code."""
        code: int | None = self.proc.poll()
        if code is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait(timeout=timeout)
        self.admin.session.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code

    def output(self) -> str:
        """What the server printed (stdout and stderr) so far."""
        path = os.path.join(self.workdir, "server.log")
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""


#: what the sandbox's server runs on: the extra ``[sandbox]`` (workers that only run tasks need neither)
SERVER_STACK = ("starlette", "uvicorn")


def require_server_stack() -> None:
    """Raise ``MissingExtraError`` naming the ``[sandbox]`` extra when the server's packages are not
    installed (the package, its hook and operators work without them; serving does not)."""
    for package in SERVER_STACK:
        try:
            found = importlib.util.find_spec(package) is not None
        except ImportError:
            found = False
        if not found:
            # imported here: the sandbox's own path never imports Airflow (exceptions does)
            from airflow_provider_xlikes.exceptions import MissingExtraError

            raise MissingExtraError(package, "sandbox", "The X API sandbox's server")


def start_sandbox(config: SandboxConfig | None = None, timeout: float = 30.0, **overrides: Any) -> SandboxProcess:
    """Start a sandbox subprocess on a free port (``config.port`` 0) and wait until it serves."""
    require_server_stack()
    cfg = (config or SandboxConfig()).with_overrides(**overrides)
    workdir = tempfile.mkdtemp(prefix="xlikes-sandbox-")
    config_path = os.path.join(workdir, "config.json")
    ready_path = os.path.join(workdir, "ready.json")
    with open(config_path, "w", encoding="utf-8") as fh:
        fh.write(cfg.to_json())
    log = open(os.path.join(workdir, "server.log"), "wb")  # noqa: SIM115 - owned by the subprocess
    cmd = [sys.executable, "-m", "airflow_provider_xlikes.sandbox", "--config", config_path, "--ready-file", ready_path]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603
    log.close()
    deadline = time.monotonic() + timeout
    while not os.path.exists(ready_path):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            with open(os.path.join(workdir, "server.log"), encoding="utf-8", errors="replace") as fh:
                output = fh.read()
            shutil.rmtree(workdir, ignore_errors=True)
            raise RuntimeError(f"sandbox failed to start (exit {proc.returncode}):\n{output}")
        time.sleep(0.01)
    with open(ready_path, encoding="utf-8") as fh:
        info = json.load(fh)
    return SandboxProcess(proc, workdir, info)


class SandboxInThread(_SandboxBase):
    """A sandbox served by a thread of this process: starts in milliseconds, shares the GIL."""

    def __init__(self, config: SandboxConfig) -> None:
        require_server_stack()
        from airflow_provider_xlikes.sandbox.server import SandboxThread

        self._thread = SandboxThread(config)
        self._thread.start()
        self.url = self._thread.url
        self.credentials = self._thread.credentials
        self.admin = AdminClient(self.url)

    def stop(self) -> None:
        self._thread.stop()
        self.admin.session.close()


def start_sandbox_thread(config: SandboxConfig | None = None, **overrides: Any) -> SandboxInThread:
    """Start a sandbox in a background thread of this process."""
    return SandboxInThread((config or SandboxConfig()).with_overrides(**overrides))


class RedirectSession(requests.Session):
    """A ``requests.Session`` that rewrites ``https://api.twitter.com`` and ``https://api.x.com``
    URLs to the sandbox *before* the request is prepared, so OAuth 1.0a signatures cover the URL
    actually sent. Use it for clients with a hard-coded host, e.g. ``tweepy.Client().session``."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else url
        for host in API_HOSTS:
            if text.startswith(host + "/"):
                text = self.base_url + text[len(host) :]
                break
        return super().request(method, text, *args, **kwargs)


def redirect_session(base_url: str) -> RedirectSession:
    """See ``RedirectSession``."""
    return RedirectSession(base_url)
