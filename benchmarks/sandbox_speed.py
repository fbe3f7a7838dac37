"""Is the sandbox fast enough not to be what a benchmark measures?

Pages 100,000 likers (max_results=100, 1,000 pages) with a bare ``requests.Session`` loop, first
from the sandbox (a subprocess), then from a minimal server (also a subprocess, same uvicorn HTTP
implementation) that serves the same 1,000 pages pre-rendered as bytes. Prints records/s of both
and the ratio sandbox / pre-rendered (target: >= 0.85).

    /tmp/venv/bin/python benchmarks/sandbox_speed.py [--records 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics

from paging import PrerenderedServer, fetch_pages, page_through

from airflow_provider_xlikes.sandbox import SandboxConfig, start_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http", default="httptools", choices=["h11", "httptools"])
    args = parser.parse_args()

    # clean: exact pages of 100, as in the ratio's definition (the quirks cost nothing on this path)
    config = SandboxConfig(post_likes=[str(args.records)], rate_limits=False, http=args.http).with_overrides(
        clean=True,
        liking_users_cap=None,  # long listings: X itself lists 100 likers per post
    )
    with start_sandbox(config) as sandbox:
        post_id = sandbox.admin.world()["featured_posts"][0]["id"]
        token = sandbox.credentials["bearer_token"]
        # pre-render: the very same pages, fetched once, keyed by the token that requested them
        pages = fetch_pages(sandbox.url, post_id, token)
        with PrerenderedServer(pages, args.http) as static:
            static_url = static.url
            best_sandbox = best_static = 0.0
            ratios: list[float] = []
            for round_ in range(1, args.rounds + 1):
                n1, t1 = page_through(sandbox.url, post_id, token)
                n2, t2 = page_through(static_url, post_id, token)
                assert n1 == n2 == args.records, (n1, n2)
                best_sandbox = max(best_sandbox, n1 / t1)
                best_static = max(best_static, n2 / t2)
                ratios.append(t2 / t1)
                print(
                    f"round {round_}: sandbox {n1 / t1:,.0f} records/s ({t1:.2f} s), "
                    f"pre-rendered {n2 / t2:,.0f} records/s ({t2:.2f} s)"
                )
    print(f"pages: {len(pages)} x max_results=100, http={args.http}")
    print(f"sandbox:      {best_sandbox:,.0f} records/s (best of {args.rounds})")
    print(f"pre-rendered: {best_static:,.0f} records/s (best of {args.rounds})")
    print(
        f"ratio sandbox/pre-rendered: {best_sandbox / best_static:.2f} best-of (target >= 0.85); "
        f"per round: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}"
    )


if __name__ == "__main__":
    main()
