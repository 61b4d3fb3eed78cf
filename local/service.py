"""The service as it runs in local mode: the real handlers, DynamoDB emulated in process by
moto, and the phone simulator in place of End User Messaging SMS."""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from local.events import LambdaContext, api_gateway_event, sns_event, two_way_message
from local.simulator import PhoneSimulator, Printer, SimulatedLookup

TABLE_NAME = "optin-local-subscribers"
ORIGINATION_NUMBER = "+18005550100"
# AWS runs housekeeping hourly; local mode every minute (and on POST /admin/housekeeping).
HOUSEKEEPING_SECONDS = 60.0
# Who acts through local mode's operator API (deployed: the caller's IAM ARN).
LOCAL_OPERATOR = "local"
_SUBSCRIBER_ROUTE = re.compile(r"^/admin/subscribers/(?P<number>[^/]+)(?P<rest>/opt-out)?$")

# Settings local mode uses unless the environment says otherwise (same variable names as
# the functions, so an operator can preview their own branding and texts).
LOCAL_SETTINGS: Mapping[str, str] = {
    "TABLE_NAME": TABLE_NAME,
    "ORIGINATION_IDENTITY": "local-phone-simulator",
    "ORIGINATION_NUMBER": ORIGINATION_NUMBER,
    "BRAND_NAME": "Example Co",
    "PROGRAM_DESCRIPTION": "delivery alerts",
    "MESSAGE_FREQUENCY": "Up to 4 msgs/month",
    "TERMS_URL": "https://example.com/sms-terms",
    "PRIVACY_URL": "https://example.com/privacy",
    "HELP_CONTACT": "support@example.com",
    "NUMBER_LOOKUP": "offline",
}
# Never AWS: moto intercepts every call, and these make sure nothing could reach an account.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
QUIET_POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": "optin-local",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "OptInLocal",
}


def local_environment(port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """Function settings for local mode: the defaults above, then any set in ``environ``."""
    from optin.settings import ENVIRONMENT

    settings = dict(LOCAL_SETTINGS)
    settings.update({name: environ[name] for name in ENVIRONMENT if environ.get(name)})
    settings["TABLE_NAME"] = TABLE_NAME
    if not environ.get("ALLOWED_ORIGINS"):
        settings["ALLOWED_ORIGINS"] = f"http://127.0.0.1:{port},http://localhost:{port}"
    if not environ.get("FORM_URL"):
        settings["FORM_URL"] = f"http://127.0.0.1:{port}/"  # the "sign up at" answer
    return settings


class LocalService:
    """Starts the emulated AWS side and calls the handlers one at a time, as Lambda would.

    Handlers and moto are not thread-safe, so every invocation (and every read of the
    store) holds one lock; the HTTP server itself is threaded so pages stay responsive.
    """

    def __init__(self, port: int, *, printer: Printer = print, verbose: bool = False) -> None:
        self.port = port
        self._print = printer
        self._lock = threading.Lock()
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        for name, value in {**FAKE_AWS, **QUIET_POWERTOOLS}.items():
            os.environ[name] = value
        if not verbose:
            os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
            os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        os.environ.update(local_environment(port, os.environ))

        from moto import mock_aws

        _lighten_moto()
        self._mock = mock_aws()
        self._mock.start()

        import boto3

        from optin import runtime
        from optin.adapters.dynamodb import DynamoSubscriberStore
        from optin.adapters.schema import table_definition
        from optin.domain.ports import Ports
        from optin.settings import Settings

        self.settings = Settings.from_env(os.environ)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(**table_definition(self.settings.table_name))
        erasure_key = os.urandom(32)  # local mode's own: erased numbers live as long as it
        self.store = DynamoSubscriberStore(
            self.settings.table_name, client=dynamodb, erasure_key=lambda: erasure_key
        )
        self.simulator = PhoneSimulator(self.settings, printer=printer)
        ports = Ports(
            rules=self.settings.rules,
            store=self.store,
            sender=self.simulator,
            lookup=SimulatedLookup(),
        )
        opt_out_list = SimulatedOptOutList(self.simulator)
        runtime.install(runtime.Runtime(self.settings, ports, opt_out_list))
        self._stopped = threading.Event()
        self._housekeeper = threading.Thread(
            target=self._housekeeping_timer, name="housekeeping", daemon=True
        )
        self._housekeeper.start()

    def close(self) -> None:
        from optin import runtime

        self._stopped.set()
        with self._lock:
            runtime.install(None)
            self._mock.stop()

    def form_config(self, api_url: str) -> dict[str, Any]:
        from optin.formconfig import form_config

        return form_config(self.settings, api_url)

    def register(
        self, body: bytes, headers: dict[str, str], source_ip: str
    ) -> tuple[int, dict[str, str], str]:
        """POST /register through an API Gateway proxy event; (status, headers, body)."""
        from optin.handlers import registration

        event = api_gateway_event(body, headers=headers, source_ip=source_ip)
        response = self._invoke(registration.handler, event)
        return (
            int(response["statusCode"]),
            {str(k): str(v) for k, v in (response.get("headers") or {}).items()},
            str(response.get("body") or ""),
        )

    def deliver_inbound(self, phone_number: str, body: str) -> None:
        """A reply typed on the simulated phone: the platform's own keyword handling, then the
        two-way channel's SNS event to the inbound handler."""
        from optin.handlers import inbound

        with self._lock:
            self.simulator.receive(phone_number, body)
            message = two_way_message(
                phone_number,
                body,
                destination_number=self.settings.origination_number or ORIGINATION_NUMBER,
            )
            self._invoke_locked(inbound.handler, sns_event(message))

    def describe(self, phone_number: str) -> dict[str, Any] | None:
        from optin.domain.operator import describe_subscriber

        with self._lock:
            described = describe_subscriber(self.store, phone_number)
        return json.loads(json.dumps(described, default=str)) if described else None

    def status(self, phone_number: str) -> str | None:
        """The subscriber's status alone (for the console), or None."""
        with self._lock:
            subscriber = self.store.get(phone_number)
        return subscriber.status.value if subscriber else None

    def admin(
        self, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, dict[str, str], str]:
        """The operator API (``/admin/...``) through an API Gateway proxy event, as the
        deployed API hands it to the admin function; the caller is ``local``."""
        from optin.handlers import admin

        event = api_gateway_event(body or None, method=method, path=path, headers={})
        parameters = _query_parameters(query)
        event["queryStringParameters"] = parameters or None
        event["multiValueQueryStringParameters"] = {
            name: [value] for name, value in parameters.items()
        } or None
        route = _SUBSCRIBER_ROUTE.match(path)
        if route:
            event["pathParameters"] = {"phoneNumber": route["number"]}
            event["resource"] = "/admin/subscribers/{phoneNumber}" + (route["rest"] or "")
        event["requestContext"]["identity"]["userArn"] = LOCAL_OPERATOR
        response = self._invoke(admin.handler, event)
        headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[str(name)] = ", ".join(str(value) for value in values)
        return int(response["statusCode"]), headers, str(response.get("body") or "")

    def housekeeping(self) -> dict[str, Any]:
        """One housekeeping run, as the hourly schedule runs it on AWS."""
        from optin.handlers import housekeeping

        with self._lock:
            if self._stopped.is_set():
                return {}
            result: dict[str, Any] = self._invoke_locked(
                housekeeping.handler, {"source": "local", "detail-type": "Scheduled Event"}
            )
        return result

    def _housekeeping_timer(self) -> None:
        while not self._stopped.wait(HOUSEKEEPING_SECONDS):
            try:
                result = self.housekeeping()
            except Exception as error:  # the next tick tries again; the console says why
                self._print(f"house  ! housekeeping failed: {type(error).__name__}")
                continue
            if result.get("expired") or result.get("erased"):
                self._print(
                    f"house  > housekeeping: {result['expired']} expired, {result['erased']} erased"
                )

    def _invoke(self, handler: Callable[[Any, Any], Any], event: dict[str, Any]) -> Any:
        with self._lock:
            return self._invoke_locked(handler, event)

    def _invoke_locked(self, handler: Callable[[Any, Any], Any], event: dict[str, Any]) -> Any:
        return handler(event, LambdaContext())


def admin_event(
    method: str, path: str, query: str, body: bytes, caller: str = LOCAL_OPERATOR
) -> dict[str, Any]:
    """An /admin request as API Gateway hands it to the admin function (the IAM caller's
    ARN in ``requestContext.identity.userArn``)."""
    event = api_gateway_event(body or None, method=method, path=path, headers={})
    parameters = _query_parameters(query)
    event["queryStringParameters"] = parameters or None
    event["multiValueQueryStringParameters"] = {
        name: [value] for name, value in parameters.items()
    } or None
    route = _SUBSCRIBER_ROUTE.match(path)
    if route:
        event["pathParameters"] = {"phoneNumber": route["number"]}
        event["resource"] = "/admin/subscribers/{phoneNumber}" + (route["rest"] or "")
    event["requestContext"]["identity"]["userArn"] = caller
    return event


def proxy_answer(response: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    """A proxy integration's answer as (status, headers, body)."""
    headers = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[str(name)] = ", ".join(str(value) for value in values)
    return int(response["statusCode"]), headers, str(response.get("body") or "")


class SimulatedOptOutList:
    """OptOutList on the phone simulator's opt-out list."""

    def __init__(self, simulator: PhoneSimulator) -> None:
        self._simulator = simulator

    def add(self, phone_number: str) -> None:
        self._simulator.put_opted_out(phone_number)


def _query_parameters(query: str) -> dict[str, str]:
    """Query parameters as API Gateway decodes them (``%XX`` only: a ``+`` stays)."""
    parameters: dict[str, str] = {}
    for pair in query.split("&"):
        if pair:
            name, _, value = pair.partition("=")
            parameters[unquote(name)] = unquote(value)
    return parameters


def _lighten_moto() -> None:
    """Make moto fit a long local session: it is a test library, and two of its habits grow
    with every registration.

    - It keeps a reference to every model object it creates, for its own introspection API
      (unused here), so nothing it builds is ever freed.
    - TransactWriteItems deep-copies the whole table before each transaction, to roll back
      on failure: each registration cost more than the one before (about 30/s at first,
      2/s after a thousand). A rollback copy only needs the item objects (puts replace them)
      and each item's attribute map (updates change it in place), not a deep copy of every
      attribute value.
    """
    import copy
    from collections import defaultdict

    from moto.core import common_models
    from moto.dynamodb.models.table import Table

    def untracked(cls: type, *_args: object, **_kwargs: object) -> object:
        return object.__new__(cls)

    def item_copy(item: Any) -> Any:
        clone = copy.copy(item)
        clone.attrs = dict(item.attrs)
        return clone

    def rollback_copy(table: Any, _memo: dict[int, Any]) -> Any:
        clone = copy.copy(table)
        clone.items = defaultdict(dict)
        for hash_key, value in table.items.items():
            if isinstance(value, dict):
                clone.items[hash_key] = {key: item_copy(item) for key, item in value.items()}
            else:
                clone.items[hash_key] = item_copy(value)
        return clone

    common_models.BaseModel.__new__ = staticmethod(untracked)  # type: ignore[assignment]
    Table.__deepcopy__ = rollback_copy  # type: ignore[attr-defined]
