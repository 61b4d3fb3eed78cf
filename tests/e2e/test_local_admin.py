"""Local mode's operator API over HTTP (/admin, no auth, loopback only), its housekeeping
on demand, the CLI against it out of the box, and the simulator's link to the proof of
consent."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from urllib.parse import quote

import pytest

from optin import cli
from tests.support.local_mode import LocalMode

pytestmark = pytest.mark.e2e


def admin(local_mode: LocalMode, method: str, path: str, body=None):
    status, _, content = local_mode.request(method, "/admin" + path, body)
    return status, json.loads(content) if content else None


def confirmed(local_mode: LocalMode, number: str, first_name: str = "Grace") -> None:
    assert local_mode.register(number, firstName=first_name, lastName="Hopper")[0] == 202
    local_mode.reply(number, "YES")


def test_the_proof_of_consent_of_a_subscriber(local_mode, new_number):
    number = new_number()
    confirmed(local_mode, number)
    status, proof = admin(local_mode, "GET", f"/subscribers/{quote(number)}")
    assert status == 200
    assert (proof["status"], proof["firstName"]) == ("CONFIRMED", "Grace")
    [(version, text)] = proof["disclosures"].items()
    assert proof["consentEvents"][0]["disclosureVersion"] == version
    assert "Example Co" in text
    # The simulator's subscriber route gives the same document, less the disclosures.
    simulator = local_mode.subscriber(number)
    assert {k: v for k, v in proof.items() if k != "disclosures"} == simulator
    assert admin(local_mode, "GET", "/subscribers/+12015550000")[0] == 404


def test_list_segments_and_export(local_mode, new_number):
    number = new_number()
    confirmed(local_mode, number)
    status, page = admin(local_mode, "GET", "/subscribers?status=CONFIRMED&limit=500")
    assert status == 200
    assert number in [s["phoneNumber"] for s in page["subscribers"]]
    status, segments = admin(local_mode, "GET", "/segments?by=status")
    assert status == 200
    assert segments["counts"]["CONFIRMED"]["CONFIRMED"] >= 1
    status, headers, content = local_mode.request("GET", "/admin/export?format=csv&limit=5000")
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert {"REGISTERED", "CONFIRMED"} <= {r["type"] for r in rows if r["phoneNumber"] == number}


def test_opt_out_then_erase_then_register_again(local_mode, new_number):
    number = new_number()
    confirmed(local_mode, number, first_name="Erasmus")
    status, answer = admin(
        local_mode, "POST", f"/subscribers/{quote(number)}/opt-out", {"reason": "asked"}
    )
    assert (status, answer["status"]) == (200, "OPTED_OUT")
    assert local_mode.subscriber(number)["consentEvents"][-1]["operator"] == "local"

    status, answer = admin(local_mode, "DELETE", f"/subscribers/{quote(number)}")
    assert (status, answer["keptStatus"]) == (200, "OPTED_OUT")
    assert local_mode.subscriber(number) is None
    _, _, content = local_mode.request("GET", "/admin/export?format=jsonl&limit=5000")
    assert "Erasmus" not in content.decode()
    assert number not in content.decode()

    texts = len(local_mode.messages(number))
    assert local_mode.register(number)[0] == 202
    assert len(local_mode.messages(number)) == texts  # never texted: re-subscription path
    assert local_mode.subscriber(number)["status"] == "OPTED_OUT"


def test_a_cross_site_post_and_a_foreign_host_are_refused(local_mode, new_number):
    number = new_number()
    confirmed(local_mode, number)
    status, _, _ = local_mode.request(
        "POST",
        f"/admin/subscribers/{quote(number)}/opt-out",
        b'{"reason": "csrf"}',
        {"Content-Type": "text/plain"},
    )
    assert status == 415
    status, _, _ = local_mode.request(
        "GET", f"/admin/subscribers/{quote(number)}", headers={"Host": "evil.example:80"}
    )
    assert status == 421
    assert local_mode.subscriber(number)["status"] == "CONFIRMED"


def test_housekeeping_on_demand(local_mode):
    status, result = admin(local_mode, "POST", "/housekeeping", {})
    assert status == 200
    assert set(result) == {"expired", "erased", "countersComplete", "complete"}
    assert result["complete"] is True
    assert local_mode.request("GET", "/admin/housekeeping")[0] == 405


def test_the_cli_works_against_local_mode(local_mode, new_number, tmp_path, capsys):
    number = new_number()
    confirmed(local_mode, number)
    api = ["--api", local_mode.base_url + "/admin"]

    def run(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = cli.main([*api, *argv], out=out)
        return code, out.getvalue()

    code, out = run("show", number)
    assert code == 0
    assert out.startswith(f"{number}  CONFIRMED")
    assert "Grace Hopper" in out
    code, out = run("segments", "--by", "country")
    assert code == 0
    assert "US" in out
    ledger = tmp_path / "ledger.csv"
    code, out = run("export", "--format", "csv", "--out", str(ledger))
    assert code == 0
    assert number in ledger.read_text()
    assert run("opt-out", number, "--reason", "cli test") == (0, f"{number}: OPTED_OUT\n")
    code, out = run("erase", number, "--yes")
    assert (code, out) == (0, f"{number}: erased; its keyed hash keeps OPTED_OUT\n")
    assert run("show", number)[0] == 1
    assert capsys.readouterr().err == f"python -m optin.cli: no subscriber {mask(number)}\n"


def mask(number: str) -> str:
    from optin.domain.subscribers.phone import mask as masked

    return masked(number)


def test_the_console_masks_numbers_in_admin_paths(local_mode, new_number):
    number = new_number()
    confirmed(local_mode, number)
    admin(local_mode, "GET", f"/subscribers/{quote(number)}")
    admin_lines = [line for line in local_mode.log if line.startswith("admin")]
    assert admin_lines
    assert not [line for line in admin_lines if number in line]


def test_the_simulator_links_each_subscriber_to_its_proof_of_consent(local_mode, page, new_number):
    number = new_number()
    confirmed(local_mode, number)
    page.goto(f"{local_mode.base_url}/simulator#{quote(number)}")
    link = page.locator("#proof-of-consent")
    link.wait_for()
    href = link.get_attribute("href")
    assert href == f"/admin/subscribers/{quote(number, safe='')}"
    with urllib.request.urlopen(local_mode.base_url + href, timeout=10) as response:
        assert json.loads(response.read())["disclosures"]
