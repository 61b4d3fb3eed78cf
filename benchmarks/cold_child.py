"""One cold start, in a fresh interpreter: ``python cold_child.py MODE RESULT_FILE``.

MODE is ``floor`` (import boto3, create the three clients the functions use: DynamoDB, End
User Messaging, SQS), ``registration``
or ``inbound`` (import the handler module, build its ports, serve one invocation), or
``empty`` (nothing: the interpreter alone). Nothing is imported before the clock starts.
AWS is answered in process at botocore's ``before-send``: requests are built, serialised
and signed exactly as for AWS, then answered without leaving the process. Attaching those
answers is the only step excluded from the measured time (the clock is paused for it).
"""

import time

T0 = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402


def _answers(subscriber_item):
    """A ``before-send`` handler answering DynamoDB and End User Messaging requests."""
    import io
    import json

    from botocore.awsrequest import AWSResponse

    class Raw(io.BytesIO):
        def stream(self, **_kwargs):
            chunk = self.read()
            while chunk:
                yield chunk
                chunk = self.read()

    def answer(request, **_kwargs):
        target = request.headers.get("X-Amz-Target", b"")
        target = (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
        params = json.loads(request.body or b"{}")
        body = {}
        if target == "GetItem":
            key = params["Key"]["pk"]["S"]
            if key.startswith("SUB#") and subscriber_item:
                body = {"Item": subscriber_item}
        elif target == "SendTextMessage":
            body = {"MessageId": "cold-start-message"}
        elif target == "SendMessage":  # the send queue (SQS checks the body's MD5)
            import hashlib

            digest = hashlib.md5(params["MessageBody"].encode(), usedforsecurity=False)
            body = {"MessageId": "cold-start-queued", "MD5OfMessageBody": digest.hexdigest()}
        elif target == "CarrierLookup":
            body = {"E164PhoneNumber": params["PhoneNumber"], "PhoneNumberType": "MOBILE"}
        headers = {"x-amzn-RequestId": "cold", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 200, headers, Raw(json.dumps(body).encode()))

    return answer


class Context:
    function_name = "cold-start"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start"
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    function_version = "$LATEST"
    log_group_name = "/aws/lambda/cold-start"
    log_stream_name = "cold-start"

    def get_remaining_time_in_millis(self):
        return 30_000


def floor():
    import boto3
    from botocore.config import Config

    boto3.client(
        "dynamodb",
        config=Config(
            retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=5
        ),
    )
    boto3.client(
        "pinpoint-sms-voice-v2",
        config=Config(
            retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5
        ),
    )
    boto3.client(
        "sqs",
        config=Config(
            retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5
        ),
    )
    return {"end": time.perf_counter(), "paused": 0.0}


def handler(name):
    import importlib

    module = importlib.import_module(f"optin.handlers.{name}")
    imported = time.perf_counter()
    from optin import runtime

    ports = runtime.current().ports
    built = time.perf_counter()
    # Paused: the local AWS answers and the event (read from a file).
    import json

    subscriber_item = json.loads(os.environ.get("BENCH_SUBSCRIBER_ITEM") or "null")
    answer = _answers(subscriber_item)
    ports.store._client.meta.events.register("before-send", answer)
    # The send queue's and End User Messaging's clients are built on their first use (never,
    # on a path that does not call them): they take their events from the session.
    import boto3

    boto3.DEFAULT_SESSION._session.register("before-send", answer)
    with open(os.environ["BENCH_EVENT_FILE"], encoding="utf-8") as file:
        event = json.load(file)
    context = Context()
    resumed = time.perf_counter()
    response = module.handler(event, context)
    end = time.perf_counter()
    return {
        "end": end,
        "paused": resumed - built,
        "imported": imported,
        "first_invocation": (built - imported) + (end - resumed),
        "response": response,
    }


def main():
    mode, result_file = sys.argv[1], sys.argv[2]
    if mode == "empty":
        result = {"end": time.perf_counter(), "paused": 0.0}
    elif mode == "floor":
        result = floor()
    else:
        result = handler(mode)
    result["t0"] = T0
    import json

    with open(result_file, "w", encoding="utf-8") as file:
        json.dump(result, file, default=str)


main()
