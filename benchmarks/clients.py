"""The clients the benchmarks time, each run in a subprocess of its own by ``run.py``.

Every measurement prints one JSON object on its last line of stdout. The hook, the operator and
the bare loop run in the project's environment, tweepy and xdk in the comparison environment
(``benchmarks/.venv-compare``, same Python and the same ``requests``/``urllib3``); each is timed
the same way: ``time.perf_counter`` around the paging only, after its imports and setup.

    python benchmarks/clients.py page {bare,hook,tweepy,xdk} URL POST_ID TOKEN [--shape realistic]
    python benchmarks/clients.py operator {jsonl,gzip,gzip-6,parquet} URL POST_ID TOKEN OUTPUT_DIR [--shape realistic]
    python benchmarks/clients.py rate {hook,tweepy} URL POST_ID TOKEN
    python benchmarks/clients.py imports
"""

from __future__ import annotations

import argparse
import contextvars
import cProfile
import json
import logging
import os
import pstats
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests
from paging import PAGE_SIZE, SHAPES, page_through
from scratch import scratch_airflow_home

REPO = Path(__file__).resolve().parent.parent
#: a file name: the timed part of ``page`` (not bare) or ``operator`` runs under cProfile, its stats there
PROFILE_ENV = "XLIKES_BENCH_PROFILE"
T = TypeVar("T")
#: the connection the hook and the operator use (created from the command's URL and token)
CONN_ID = "x_bench"


def use_connection(url: str, token: str) -> None:
    """``x_bench``: bearer ``token`` at ``url``, as an Airflow connection from the environment."""
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps({"conn_type": "x", "host": url, "password": token})


def redirected_session(url: str) -> requests.Session:
    """The sandbox's session for clients whose host is hard-coded (tweepy); importable without Airflow."""
    sys.path.insert(0, str(REPO))
    from airflow_provider_xlikes.sandbox.process import redirect_session

    return redirect_session(url)


class WarningCounter(logging.Handler):
    """Counts the package's warnings (a retry, a wait): a round that had some is not like the others."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        logging.getLogger("airflow_provider_xlikes").addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def timed(call: Callable[[], T]) -> tuple[T, float, float]:
    """``call()``, its wall seconds and this process's CPU seconds in it (``time.process_time``: on a
    machine shared with other work the CPU seconds hold where the wall seconds wait for a core);
    under cProfile when ``$XLIKES_BENCH_PROFILE`` names a file (the stats, by cumulative and by own
    time, go there; the seconds then include the profiler's cost)."""
    path = os.environ.get(PROFILE_ENV)
    profiler = cProfile.Profile() if path else None
    cpu_started = time.process_time()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = call()
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if profiler is not None and path:
        with open(path, "w") as out:
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(40)
            stats.sort_stats("tottime").print_stats(25)
    return result, seconds, cpu_seconds


# --------------------------------------------------------------------------- paging
def records_of_hook(url: str, post_id: str, token: str, fields: list[str] | None) -> Callable[[], int]:
    use_connection(url, token)
    from airflow_provider_xlikes.hooks.x import XHook

    hook = XHook(CONN_ID)
    hook.client  # noqa: B018 - the connection is read and the session built before timing

    def run() -> int:
        pages = hook.iter_liking_users(post_id, max_results=PAGE_SIZE, user_fields=fields)
        return sum(len(page.data) for page in pages)

    return run


def records_of_tweepy(url: str, post_id: str, token: str, fields: list[str] | None) -> Callable[[], int]:
    import tweepy

    client = tweepy.Client(bearer_token=token)
    client.session = redirected_session(url)

    def run() -> int:
        pages = tweepy.Paginator(client.get_liking_users, post_id, max_results=PAGE_SIZE, user_fields=fields)
        return sum(len(response.data or ()) for response in pages)

    return run


def records_of_xdk(url: str, post_id: str, token: str, fields: list[str] | None) -> Callable[[], int]:
    import xdk

    # liking_users takes user-context tokens only (in xdk's spec): the token goes as the access token
    client = xdk.Client(base_url=url, access_token=token)

    def run() -> int:
        pages = client.posts.get_liking_users(post_id, max_results=PAGE_SIZE, user_fields=fields)
        return sum(len(page.data or ()) for page in pages)

    return run


def page(client: str, url: str, post_id: str, token: str, shape: str) -> dict[str, Any]:
    if client == "bare":
        (records, seconds), _, cpu_seconds = timed(lambda: page_through(url, post_id, token, SHAPES[shape]))
        return {"records": records, "seconds": seconds, "cpu_seconds": cpu_seconds}
    clients = {"hook": records_of_hook, "tweepy": records_of_tweepy, "xdk": records_of_xdk}
    run = clients[client](url, post_id, token, list(SHAPES[shape]) or None)
    warnings = WarningCounter()
    records, seconds, cpu_seconds = timed(run)
    return {"records": records, "seconds": seconds, "cpu_seconds": cpu_seconds, "warnings": warnings.count}


# --------------------------------------------------------------------------- the operator
class TaskStateStore:
    """The task instance's ``task_state_store`` (in memory here; the metadata database in a task)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class TaskInstance:
    dag_id = "xlikes_benchmark"
    run_id = "benchmark"
    task_id = "likers"
    map_index = -1


def _execute(task: Any, context: dict[str, Any]) -> Any:
    from airflow.sdk.bases.operator import ExecutorSafeguard

    ExecutorSafeguard.tracker.set(task)
    return task.execute(context=context)


def operator(output: str, url: str, post_id: str, token: str, output_dir: str, shape: str) -> dict[str, Any]:
    """One ``XLikingUsersOperator.execute`` to ``file://``, logging as a task does (structlog JSON lines)."""
    use_connection(url, token)
    from airflow.sdk.log import configure_logging

    log_file = open(os.path.join(output_dir, "task.log"), "wb")  # noqa: SIM115 - open while the task runs
    configure_logging(json_output=True, output=log_file)
    from airflow_provider_xlikes.operators.likes import XLikingUsersOperator

    task = XLikingUsersOperator(
        task_id=TaskInstance.task_id,
        tweet_id=post_id,
        x_conn_id=CONN_ID,
        output_path=Path(output_dir, "out").as_uri(),
        user_fields=list(SHAPES[shape]) or None,
        output_format="parquet" if output == "parquet" else "jsonl",
        compression="gzip" if output.startswith("gzip") else None,
        compression_level=6 if output == "gzip-6" else None,  # None: the default, the fastest
        lookup_total=False,  # the bare loop makes no count lookup either
    )
    context: dict[str, Any] = {"ti": TaskInstance(), "task_state_store": TaskStateStore()}
    # once-per-process costs, not the path's (the bare loop's import of requests is not timed either):
    # the task runner's modules and Airflow's provider discovery loaded, the connection read,
    # pyarrow imported where it is used
    import airflow.sdk.execution_time.task_runner  # noqa: F401
    from airflow.sdk import ObjectStoragePath

    ObjectStoragePath("file:///").fs  # noqa: B018
    task.hook.client  # noqa: B018
    if output == "parquet":
        import pyarrow.parquet  # noqa: F401
    # as the task runner calls it (its safeguard's tracker set: no "outside of the Task Runner" warning)
    warnings = WarningCounter()
    manifest, seconds, cpu_seconds = timed(lambda: contextvars.copy_context().run(_execute, task, context))
    log_file.close()
    with open(log_file.name) as fh:
        log_lines = sum(1 for _ in fh)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": manifest["record_count"],
        "bytes": sum(part["bytes"] or 0 for part in manifest["parts"]),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "log_lines": log_lines,
        "max_rss_kib": peak_kib,
        "warnings": warnings.count,
    }


# --------------------------------------------------------------------------- rate limits
def rate(client: str, url: str, post_id: str, token: str) -> dict[str, Any]:
    """Page a listing through time-scaled windows; every response's time, status and window."""
    responses: list[dict[str, Any]] = []

    def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        headers = response.headers
        responses.append(
            {
                "sent": sent[-1] if sent else None,
                "status": response.status_code,
                "limit": headers.get("x-rate-limit-limit"),
                "remaining": headers.get("x-rate-limit-remaining"),
                "reset": headers.get("x-rate-limit-reset"),
            }
        )

    sent: list[float] = []

    def timed(session: requests.Session) -> requests.Session:
        send = session.send

        def timed_send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            sent.append(time.time())
            return send(request, **kwargs)

        session.send = timed_send  # type: ignore[method-assign]
        session.hooks["response"].append(record)
        return session

    if client == "hook":
        use_connection(url, token)
        from airflow_provider_xlikes.hooks.x import XHook

        hook = XHook(CONN_ID)
        timed(hook.client.session)

        def run() -> int:
            return sum(len(page.data) for page in hook.iter_liking_users(post_id, max_results=PAGE_SIZE))

    else:
        import tweepy

        tweepy_client = tweepy.Client(bearer_token=token, wait_on_rate_limit=True)
        tweepy_client.session = timed(redirected_session(url))

        def run() -> int:
            pages = tweepy.Paginator(tweepy_client.get_liking_users, post_id, max_results=PAGE_SIZE)
            return sum(len(response.data or ()) for response in pages)

    started = time.time()
    records = run()
    return {"records": records, "started": started, "finished": time.time(), "responses": responses}


# --------------------------------------------------------------------------- imports
def imports() -> dict[str, Any]:
    """The time ``airflow.sdk`` takes to import, then the operators module on top of it."""
    started = time.perf_counter()
    import airflow.sdk  # noqa: F401

    sdk_done = time.perf_counter()
    before = set(sys.modules)
    import airflow_provider_xlikes.operators.likes  # noqa: F401

    done = time.perf_counter()
    added = sorted(set(sys.modules) - before)
    return {"sdk_seconds": sdk_done - started, "operators_seconds": done - sdk_done, "modules": added}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, clients in (("page", ["bare", "hook", "tweepy", "xdk"]), ("rate", ["hook", "tweepy"])):
        command = sub.add_parser(name)
        command.add_argument("client", choices=clients)
        command.add_argument("url")
        command.add_argument("post_id")
        command.add_argument("token")
        if name == "page":
            command.add_argument("--shape", choices=list(SHAPES), default="minimal")
    command = sub.add_parser("operator")
    command.add_argument("output", choices=["jsonl", "gzip", "gzip-6", "parquet"])
    command.add_argument("url")
    command.add_argument("post_id")
    command.add_argument("token")
    command.add_argument("output_dir")
    command.add_argument("--shape", choices=list(SHAPES), default="minimal")
    sub.add_parser("imports")
    args = parser.parse_args()
    result: dict[str, Any]
    if args.command == "page":
        result = page(args.client, args.url, args.post_id, args.token, args.shape)
    elif args.command == "rate":
        result = rate(args.client, args.url, args.post_id, args.token)
    elif args.command == "operator":
        result = operator(args.output, args.url, args.post_id, args.token, args.output_dir, args.shape)
    else:
        result = imports()
    print(json.dumps(result))


if __name__ == "__main__":
    scratch_airflow_home()
    main()
