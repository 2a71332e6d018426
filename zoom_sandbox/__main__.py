"""``python -m zoom_sandbox``: serve the fake Zoom until killed.

Prints exactly one line, ``zoom sandbox listening on http://HOST:PORT``, once the socket is bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys

import uvicorn

from .app import create_app
from .generator import generate, parse_params
from .sandbox import Sandbox


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zoom_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scenario", help="a scenario JSON file to load")
    parser.add_argument(
        "--generate",
        help="generate a scenario, e.g. webinars=20,registrants=500,attendance=0.6,seed=1",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="switch Zoom's rate limits off (benchmarks)"
    )
    parser.add_argument(
        "--control-token",
        default=os.environ.get("ZOOM_SANDBOX_CONTROL_TOKEN", ""),
        help="every /_sandbox call must then carry it in the X-Sandbox-Control-Token header "
        "(default: $ZOOM_SANDBOX_CONTROL_TOKEN; the environment keeps it out of `ps`)",
    )
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace, sandbox: Sandbox) -> None:
    # Bind first so the "listening" line is only printed once connections are accepted.
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets whose proto says TCP,
    # and without it every keep-alive response waits ~40 ms on Nagle + delayed ACK.
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    config = uvicorn.Config(
        create_app(sandbox), log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    host, port = sock.getsockname()[:2]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        print(f"zoom sandbox listening on http://{host}:{port}", flush=True)
    await task


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    sandbox = Sandbox(rate_limits=not args.no_rate_limits, control_token=args.control_token)
    if args.scenario:
        with open(args.scenario, encoding="utf-8") as handle:
            sandbox.load(json.load(handle))
    elif args.generate:
        params = parse_params(args.generate)
        now = sandbox.now()
        if params.get("now"):
            from .timeutil import parse_time

            now = parse_time(params["now"])
        sandbox.load(generate(params, now))
    try:
        asyncio.run(_serve(args, sandbox))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
