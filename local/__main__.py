"""``python -m local [--port 8000]``: serve the form, the handlers and the phone simulator."""

from __future__ import annotations

import argparse
import os
import signal
import sys

DEFAULT_PORT = 8000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local",
        description="Local mode: the web form, the real handlers, DynamoDB emulated in "
        "process and a phone simulator instead of SMS. No AWS account needed.",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"port on 127.0.0.1 (default: $PORT, else {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print the functions' JSON logs and metrics"
    )
    args = parser.parse_args(argv)
    port = args.port if args.port is not None else _port_from_environment()

    def console(line: str) -> None:
        print(line, flush=True)

    from local.server import LocalServer

    try:
        server = LocalServer("127.0.0.1", port, console)
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{port}: {error.strerror}", file=sys.stderr)
        print("another program uses this port; try: make dev PORT=8001", file=sys.stderr)
        return 1

    from local.service import LocalService

    server.service = LocalService(server.port, printer=console, verbose=args.verbose)
    base = f"http://127.0.0.1:{server.port}"
    console(f"local mode: serving on {base}")
    console(f"  form       {base}/")
    console(f"  simulator  {base}/simulator")
    console("  DynamoDB is emulated in memory (moto); SMS goes to the phone simulator.")
    console("  Press Ctrl+C to stop (the data goes with it).")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        console("stopping")
    finally:
        server.server_close()
        server.service.close()
    return 0


def _port_from_environment() -> int:
    value = os.environ.get("PORT", "").strip()
    try:
        return int(value) if value else DEFAULT_PORT
    except ValueError:
        print(f"PORT={value!r} is not a number; using {DEFAULT_PORT}", file=sys.stderr)
        return DEFAULT_PORT


if __name__ == "__main__":
    sys.exit(main())
