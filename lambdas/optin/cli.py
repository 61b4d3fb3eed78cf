"""Operator commands on a deployed table (docs/lifecycle.md), with the caller's AWS credentials.

    python -m optin.cli show +12065550142 --table TABLE
    python -m optin.cli list CONFIRMED --table TABLE
    python -m optin.cli remove +12065550142 --table TABLE --reason "asked by e-mail"

``TABLE`` is the stack's ``TableName`` output (or set ``TABLE_NAME``). Output is JSON.
Without credentials, region or connection, or when AWS refuses, one line says why on
stderr and the exit status is 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from optin.domain.errors import DependencyUnavailable
from optin.domain.model import Status
from optin.domain.phone import mask

AWS_FAILED = 2


def main(argv: list[str] | None = None, store: Any | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m optin.cli", description=__doc__.split("\n")[0])
    parser.add_argument("--table", default=os.environ.get("TABLE_NAME", ""))
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("show", help="a subscriber and its consent events")
    show.add_argument("phone_number")
    listing = commands.add_parser("list", help="phone numbers in one state")
    listing.add_argument("status", choices=[status.value for status in Status])
    remove = commands.add_parser("remove", help="opt a number out on the operator's word")
    remove.add_argument("phone_number")
    remove.add_argument("--reason", required=True)
    args = parser.parse_args(argv)
    if store is None and not args.table:
        parser.error("--table (or TABLE_NAME) is required")
    try:
        return _run(args, store)
    except (BotoCoreError, ClientError, DependencyUnavailable) as error:
        print(f"{parser.prog}: {explain(error)}", file=sys.stderr)
        return AWS_FAILED


def explain(error: Exception) -> str:
    """One line an operator can act on, for an AWS failure at the boundary."""
    if isinstance(error, DependencyUnavailable) and isinstance(
        error.__cause__, BotoCoreError | ClientError
    ):
        error = error.__cause__
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found: set AWS_PROFILE or sign in (aws sso login)"
    if isinstance(error, NoRegionError):
        return "no AWS region: set AWS_DEFAULT_REGION to the region the stack is deployed in"
    if isinstance(error, EndpointConnectionError):
        return f"cannot reach {error.kwargs.get('endpoint_url', 'AWS')}: check network and region"
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"AWS refused the request: {detail.get('Code', '?')}: {detail.get('Message', '')}"
    return f"AWS call failed: {error}"


def _run(args: argparse.Namespace, store: Any | None) -> int:
    if store is None:
        from optin.adapters.dynamodb import DynamoSubscriberStore

        store = DynamoSubscriberStore(args.table)

    from optin.domain.operator import describe_subscriber, remove_subscriber

    if args.command == "show":
        view = describe_subscriber(store, args.phone_number)
        if view is None:
            print(f"no subscriber {mask(args.phone_number)}", file=sys.stderr)
            return 1
        print(json.dumps(view, indent=2, default=str))
    elif args.command == "list":
        print(json.dumps(store.phone_numbers_with_status(Status(args.status)), indent=2))
    else:
        operator = os.environ.get("OPERATOR") or getpass.getuser()
        if not remove_subscriber(store, args.phone_number, operator=operator, reason=args.reason):
            print(f"no subscriber {mask(args.phone_number)}", file=sys.stderr)
            return 1
        print(json.dumps({"phoneNumber": args.phone_number, "status": Status.OPTED_OUT.value}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
