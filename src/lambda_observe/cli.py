"""The ``lambda-observe`` command."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lambda-observe", description="Run and package observable Lambda functions.")
    sub = parser.add_subparsers(dest="command", required=True)

    inv = sub.add_parser("invoke", help="run a handler locally as Lambda would, and show its trace")
    inv.add_argument("handler", help="path/to/app.py:handler, or module.function")
    inv.add_argument(
        "--event",
        help="an event name (apigw-rest, apigw-http, alb, function-url, sqs, sns, s3, "
        "eventbridge, dynamodb-stream, kinesis) or a JSON file",
    )
    inv.add_argument("--times", type=int, default=1, help="invoke N times in one process (warm starts)")
    inv.add_argument("--timeout", type=float, default=30.0, help="the function's timeout in seconds")
    inv.add_argument("--html", metavar="FILE", help="also write the traces as a self-contained HTML page")

    traces = sub.add_parser("traces", help="find X-Ray traces by annotation, show and save them")
    traces_sub = traces.add_subparsers(dest="traces_command", required=True)
    find = traces_sub.add_parser("find", help="list traces matching a filter expression, newest first")
    find.add_argument("--filter", dest="filter_expression", help="an X-Ray filter, e.g. 'annotation.order_id = \"42\"'")
    find.add_argument("--since", default="6h", help="start of the range: 30m, 6h, 7d (at most 30d) or an ISO time")
    find.add_argument("--until", help="end of the range (default now): a duration before now or an ISO time")
    find.add_argument("--limit", type=int, default=100, help="show at most N traces (default 100)")
    show = traces_sub.add_parser("show", help="fetch whole traces and draw their waterfalls")
    show.add_argument("trace_ids", nargs="+", metavar="TRACE_ID")
    show.add_argument("--save", metavar="DIR", help="write each trace's raw documents to DIR/<trace id>.json")
    show.add_argument("--html", metavar="FILE", help="write the traces as a self-contained HTML page")
    for p in (find, show):
        p.add_argument("--region", help="the AWS region (default: boto3's chain, e.g. AWS_REGION or the profile)")
        p.add_argument("--endpoint-url", help="another X-Ray endpoint (a proxy or a local emulator)")

    view = sub.add_parser("view", help="write the HTML trace page for saved trace files")
    view.add_argument("paths", nargs="+", metavar="FILE_OR_DIR")
    view.add_argument("--html", metavar="FILE", default="traces.html", help="the page to write (default traces.html)")

    layer = sub.add_parser("layer", help="build the Lambda layer")
    layer_sub = layer.add_subparsers(dest="layer_command", required=True)
    build = layer_sub.add_parser("build", help="write a layer zip for a Python version and architecture")
    build.add_argument(
        "--python",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="target Python version, 3.10 to 3.14",
    )
    build.add_argument("--arch", default="x86_64", choices=["x86_64", "arm64"])
    build.add_argument("--extras", default="", help="comma-separated extras: redis, dynamodb")
    build.add_argument("--out", default="dist", help="output directory")
    build.add_argument(
        "--keep-runtime-packages",
        action="store_true",
        help="keep boto3, botocore and the other packages the Lambda runtime provides",
    )
    build.add_argument("--compile", action="store_true", help="ship compiled .pyc files only")
    build.add_argument("--slim", action="store_true", help="leave out orjson (smaller, slower serialization)")
    build.add_argument(
        "--with-cli", action="store_true", help="keep the CLI, layer builder and local runner (not needed on Lambda)"
    )
    build.add_argument(
        "--constraints", metavar="FILE", default=None, help="a pip constraints file pinning the resolved versions"
    )
    build.add_argument("--source", default=None, help="install lambda_observe from this path (default: this package)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "invoke":
            from .local.runner import invoke

            result = invoke(args.handler, event=args.event, times=args.times, timeout=args.timeout, html=args.html)
            return 1 if result.failed else 0
        if args.command in ("traces", "view"):
            return _traces(args)
        if args.command == "layer":
            from .layer import build_layer

            build_layer(
                python=args.python,
                arch=args.arch,
                extras=[e for e in args.extras.split(",") if e.strip()],
                out=args.out,
                keep_runtime=args.keep_runtime_packages,
                compile_only=args.compile,
                source=args.source,
                slim=args.slim,
                with_cli=args.with_cli,
                constraints=args.constraints,
            )
            return 0
    except ValueError as exc:
        print(f"lambda-observe: {_printable(str(exc))}", file=sys.stderr)
        return 2
    return 2


def _printable(text: str) -> str:
    from .local.waterfall import printable

    return printable(text)


def _traces(args: argparse.Namespace) -> int:
    from .traces import commands
    from .traces.client import XRayQueryError

    try:
        if args.command == "view":
            commands.view(args.paths, args.html)
        elif args.traces_command == "find":
            commands.find(args.filter_expression, args.since, args.until, args.limit, args.region, args.endpoint_url)
        else:
            commands.show(args.trace_ids, args.save, args.html, args.region, args.endpoint_url)
    except XRayQueryError as exc:
        print(f"lambda-observe: {_printable(str(exc))}", file=sys.stderr)  # API messages are text, not commands
        return 2 if exc.kind == "invalid" else 1
    except OSError as exc:  # a file the checks above did not foresee
        print(f"lambda-observe: {_printable(str(exc))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
