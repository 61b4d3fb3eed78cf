"""Operator commands on the DynamoDB adapter (moto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from optin import cli
from optin.adapters.dynamodb import DynamoSubscriberStore
from optin.domain.model import EventType, Status
from tests.support.harness import ROOT
from tests.support.lifecycle import NUMBER, register, reply


def run(store, capsys, *argv):
    code = cli.main([*argv], store=store)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_show_prints_the_representation(moto_ports, capsys):
    register(moto_ports)
    reply(moto_ports, "YES")
    code, out, _ = run(moto_ports.store, capsys, "show", NUMBER)
    view = json.loads(out)
    assert code == 0
    assert (view["status"], view["optOut"], view["firstName"]) == ("CONFIRMED", "NONE", "Carlos")
    assert view["confirmedAt"].endswith("Z")
    assert [e["type"] for e in view["consentEvents"]][:2] == ["REGISTERED", "CONFIRMATION_SENT"]


def test_show_unknown_number(moto_ports, capsys):
    code, _, err = run(moto_ports.store, capsys, "show", "+14165550142")
    assert code == 1
    assert "+1******0142" in err


def test_list_by_status(moto_ports, capsys):
    register(moto_ports)
    register(moto_ports, "+14165550142")
    reply(moto_ports, "YES", number="+14165550142")
    _, out, _ = run(moto_ports.store, capsys, "list", "CONFIRMED")
    assert json.loads(out) == ["+14165550142"]


def test_operator_removal_opts_out_and_is_recorded(moto_ports, capsys, monkeypatch):
    monkeypatch.setenv("OPERATOR", "ops@example.com")
    register(moto_ports)
    reply(moto_ports, "YES")
    code, _, _ = run(moto_ports.store, capsys, "remove", NUMBER, "--reason", "asked by e-mail")
    assert code == 0
    subscriber = moto_ports.store.get(NUMBER)
    assert subscriber.status is Status.OPTED_OUT
    assert subscriber.opted_out_at is not None
    last = moto_ports.store.events(NUMBER)[-1]
    assert last.type is EventType.REMOVED_BY_OPERATOR
    assert last.details["operator"] == "ops@example.com"
    assert last.details["reason"] == "asked by e-mail"
    assert run(moto_ports.store, capsys, "remove", "+14165550142", "--reason", "x")[0] == 1


# Without credentials, region or connection: one line on stderr, exit status 2. ------------


def cli_process(env_changes: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "TABLE_NAME"
    }
    environment.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": str(ROOT / "lambdas"),
            **env_changes,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "optin.cli", *argv],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        check=False,
        timeout=60,
    )


def test_no_region_is_one_clear_line():
    result = cli_process({}, "--table", "subscribers", "show", NUMBER)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "python -m optin.cli: no AWS region: "
        "set AWS_DEFAULT_REGION to the region the stack is deployed in"
    ]


def test_no_credentials_is_one_clear_line():
    result = cli_process({"AWS_DEFAULT_REGION": "us-east-1"}, "--table", "t", "list", "CONFIRMED")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert "no AWS credentials found" in line
    assert "Traceback" not in result.stderr


class Unreachable:
    """A DynamoDB client whose every call fails the way botocore fails it."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, name):
        def call(**_params):
            raise self.error

        return call


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"),
            "cannot reach https://dynamodb.us-east-1.amazonaws.com/: check network and region",
        ),
        (
            ClientError(
                {"Error": {"Code": "ResourceNotFoundException", "Message": "no such table"}},
                "GetItem",
            ),
            "AWS refused the request: ResourceNotFoundException: no such table",
        ),
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Query"),
            "AWS refused the request: AccessDeniedException: no",
        ),
        (NoCredentialsError(), "no AWS credentials found"),
    ],
)
@pytest.mark.parametrize("command", [("show", NUMBER), ("list", "PENDING")])
def test_aws_failures_at_the_boundary_are_one_line(capsys, error, expected, command):
    store = DynamoSubscriberStore("subscribers", client=Unreachable(error))
    code, out, err = run(store, capsys, *command)
    assert code == 2
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("python -m optin.cli: ")
    assert expected in line
