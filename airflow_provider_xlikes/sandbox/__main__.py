"""``python -m airflow_provider_xlikes.sandbox``: run the offline X API sandbox; ``... admin ...``
drives a running one (see :mod:`.admin_cli`)."""

from __future__ import annotations

import sys

from airflow_provider_xlikes.sandbox.config import build_arg_parser, config_from_args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["admin"]:
        from airflow_provider_xlikes.sandbox.admin_cli import main as admin_main

        return admin_main(argv[1:])
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    from airflow_provider_xlikes.sandbox.process import require_server_stack

    try:
        require_server_stack()
    except ImportError as exc:  # MissingExtraError, naming the extra
        parser.exit(2, f"{parser.prog}: {exc}\n")
    from airflow_provider_xlikes.sandbox.server import serve

    return serve(config, ready_file=args.ready_file, quiet=args.quiet)


if __name__ == "__main__":
    sys.exit(main())
