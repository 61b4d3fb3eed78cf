"""Operator commands on the DynamoDB adapter (moto)."""

from __future__ import annotations

import json

from optin import cli
from optin.domain.model import EventType, Status
from tests.unit.lifecycle_support import NUMBER, register, reply


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
