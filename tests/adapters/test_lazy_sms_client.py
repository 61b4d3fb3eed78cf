"""The End User Messaging client is built on its first use, not with the runtime."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from optin import runtime
from optin.adapters.sms import LazySmsClient
from tests.support.fakes import BASE_ENV, FAKE_AWS


@pytest.fixture
def environment(monkeypatch):
    for name, value in {**BASE_ENV, **FAKE_AWS}.items():
        monkeypatch.setenv(name, value)

    def with_lookup(lookup: str) -> runtime.Runtime:
        monkeypatch.setenv("NUMBER_LOOKUP", lookup)
        return runtime.from_environment()

    return with_lookup


def test_an_offline_runtime_builds_no_sms_client_until_one_is_needed(environment):
    built = environment("offline")
    client = built.ports.sender._client  # type: ignore[attr-defined]
    assert isinstance(client, LazySmsClient)
    assert not client.built
    # The first call builds the client; later ones reuse it.
    with Stubber(client.client()) as stub:
        stub.add_response(
            "put_opted_out_number", {}, {"OptOutListName": "list", "OptedOutNumber": "+12065550142"}
        )
        assert client.built
        client.put_opted_out_number(OptOutListName="list", OptedOutNumber="+12065550142")
    assert client.client() is client.client()


def test_a_carrier_lookup_shares_the_one_lazy_client(environment):
    built = environment("carrier")
    lookup_client = built.ports.lookup._client  # type: ignore[attr-defined]
    assert lookup_client is built.ports.sender._client  # type: ignore[attr-defined]
    assert not lookup_client.built


def test_reset_drops_the_built_client():
    client = LazySmsClient()
    first = client.client()
    assert client.meta.service_model.service_name == "pinpoint-sms-voice-v2"
    client.reset()
    assert not client.built
    assert client.client() is not first


def test_the_send_client_makes_no_retries():
    client = LazySmsClient(retries=False)
    assert client.meta.config.retries["total_max_attempts"] == 1
