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
    build.add_argument("--source", default=None, help="install lambda_observe from this path (default: this package)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "invoke":
            from .local.runner import invoke

            result = invoke(args.handler, event=args.event, times=args.times, timeout=args.timeout)
            return 1 if result.failed else 0
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
            )
            return 0
    except ValueError as exc:
        print(f"lambda-observe: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
