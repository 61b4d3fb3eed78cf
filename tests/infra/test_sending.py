"""The send queues, the sender and delivery functions, delivery events, and their alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import names
from infra.config import load
from optin.configuration import SettingError
from optin.observability import Metric
from optin.settings import Settings
from tests.infra.conftest import ADOPTED_NUMBER_ID, Synthesized, context_with
from tests.infra.test_iam import (
    TABLE_ACTIONS,
    XRAY,
    get_att,
    send_statement,
    sms_voice_arn,
    statements,
)
from tests.infra.test_monitoring import alarms

DAY = 24 * 3600


def properties(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.template["Resources"][synth.logical_id(construct)]["Properties"]


def send_queues(synth: Synthesized) -> dict[str, Any]:
    sending = synth.stack.sending
    return {"transactional": sending.transactional, "broadcast": sending.broadcast}


def event_sources(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """The sender's event source mappings, by the queue they read."""
    # SnapStart (on by default): the sender's live alias.
    alias = {"Ref": synth.logical_id(synth.stack.sender.alias)}
    by_queue = {}
    for mapping in synth.resources("AWS::Lambda::EventSourceMapping").values():
        mapping_properties = mapping["Properties"]
        name = mapping_properties["FunctionName"]["Fn::Join"][1]
        assert name == [{"Fn::Select": [6, {"Fn::Split": [":", alias]}]}, ":live"]
        queue_id = mapping_properties["EventSourceArn"]["Fn::GetAtt"][0]
        by_queue[queue_id] = mapping_properties
    return by_queue


def test_every_send_queue_is_encrypted_with_the_messages_key_and_tls_only(
    each_mode: Synthesized,
) -> None:
    key = get_att(each_mode, each_mode.stack.messaging.key)
    queues = [
        construct
        for send_queue in send_queues(each_mode).values()
        for construct in (send_queue.queue, send_queue.dead_letter_queue)
    ]
    for queue in queues:
        queue_properties = properties(each_mode, queue)
        assert queue_properties["KmsMasterKeyId"] == key
        assert "SqsManagedSseEnabled" not in queue_properties
        assert queue_properties["MessageRetentionPeriod"] == 14 * DAY
        [policy] = [
            p["Properties"]
            for p in each_mode.resources("AWS::SQS::QueuePolicy").values()
            if p["Properties"]["Queues"] == [{"Ref": each_mode.logical_id(queue)}]
        ]
        [statement] = policy["PolicyDocument"]["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Action"] == "sqs:*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # The key that encrypts them rotates.
    key_properties = properties(each_mode, each_mode.stack.messaging.key)
    assert key_properties["EnableKeyRotation"] is True


def test_each_send_queue_redrives_to_its_own_dead_letter_queue_after_50_receives(
    each_mode: Synthesized,
) -> None:
    targets = []
    for send_queue in send_queues(each_mode).values():
        redrive = properties(each_mode, send_queue.queue)["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == 50
        assert redrive["deadLetterTargetArn"] == get_att(each_mode, send_queue.dead_letter_queue)
        assert "RedrivePolicy" not in properties(each_mode, send_queue.dead_letter_queue)
        targets.append(json.dumps(redrive["deadLetterTargetArn"]))
    assert len(set(targets)) == 2


def test_the_visibility_timeout_is_six_times_the_senders_timeout(new_number: Synthesized) -> None:
    timeout = properties(new_number, new_number.stack.sender.function)["Timeout"]
    assert timeout == 30
    for send_queue in send_queues(new_number).values():
        assert properties(new_number, send_queue.queue)["VisibilityTimeout"] >= 6 * timeout


def test_the_sender_reads_both_queues_in_batches_with_partial_failures_and_bounded_concurrency(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    for synth, transactional_concurrency in ((new_number, 2), (adopted, 5)):
        sources = event_sources(synth)
        queues = send_queues(synth)
        assert set(sources) == {synth.logical_id(q.queue) for q in queues.values()}
        for source in sources.values():
            assert source["BatchSize"] == 10
            assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
            assert "MaximumBatchingWindowInSeconds" not in source  # confirmations go at once
        transactional = sources[synth.logical_id(queues["transactional"].queue)]
        broadcast = sources[synth.logical_id(queues["broadcast"].queue)]
        assert transactional["ScalingConfig"] == {"MaximumConcurrency": transactional_concurrency}
        # Broadcasts never get more sender instances than SQS's least.
        assert broadcast["ScalingConfig"] == {"MaximumConcurrency": 2}


def test_the_sender_may_consume_both_queues_send_and_use_the_table(
    new_number: Synthesized,
) -> None:
    s = new_number
    queues = send_queues(s)
    number = get_att(s, s.stack.messaging.node.find_child("PhoneNumber"))
    assert statements(s, "sender") == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, s.stack.sender.log_group),
        },
        XRAY,
        {
            # ChangeMessageVisibility: how pacing and throttling put a message back.
            "Action": [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
            ],
            "Resource": sorted(
                [get_att(s, queues["broadcast"].queue), get_att(s, queues["transactional"].queue)],
                key=json.dumps,
            ),
        },
        # GenerateDataKey: the broadcasts' planner queues messages (SSE-KMS).
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att(s, s.stack.messaging.key),
        },
        # BatchGetItem: the planner reads the profiles of a page of the status index.
        {
            "Action": sorted(["dynamodb:BatchGetItem", *TABLE_ACTIONS]),
            "Resource": get_att(s, s.stack.data.table),
        },
        send_statement(s, number),
        {
            "Action": "dynamodb:Query",
            "Resource": {"Fn::Join": ["", [get_att(s, s.stack.data.table), "/index/byStatus"]]},
        },
        # The planner's pages and its next steps go on the broadcast queue, nowhere else.
        {"Action": "sqs:SendMessage", "Resource": get_att(s, queues["broadcast"].queue)},
        {
            # An opt-out confirmation leaves first, then the sender lists the number.
            "Action": "sms-voice:PutOptedOutNumber",
            "Resource": s.stack.resolve(s.stack.messaging.opt_out_list_arn),
        },
    ]


def test_the_delivery_function_may_only_use_the_table(each_mode: Synthesized) -> None:
    s = each_mode
    assert statements(s, "delivery") == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, s.stack.delivery.log_group),
        },
        XRAY,
        {"Action": TABLE_ACTIONS, "Resource": get_att(s, s.stack.data.table)},
    ]


def test_only_the_sender_may_send(each_mode: Synthesized) -> None:
    sender_role = {"Ref": each_mode.logical_id(each_mode.stack.sender.role)}
    holders = []
    for policy in each_mode.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            if "sms-voice:SendTextMessage" in (actions if isinstance(actions, list) else [actions]):
                holders.extend(policy["Properties"]["Roles"])
    assert holders == [sender_role]


def test_registration_and_inbound_may_only_enqueue_transactional_messages(
    each_mode: Synthesized,
) -> None:
    s = each_mode
    transactional = get_att(s, s.stack.sending.transactional.queue)
    for which in ("registration", "inbound"):
        found = statements(s, which)
        enqueue = [st for st in found if "sqs:SendMessage" in json.dumps(st["Action"])]
        queues = [st["Resource"] for st in enqueue]
        dead_letter = get_att(s, s.stack.messaging.dead_letter_queue)
        assert transactional in queues
        # The broadcast queue is not theirs; the inbound function's other queue is its own
        # dead-letter queue.
        assert [q for q in queues if q != transactional] == (
            [dead_letter] if which == "inbound" else []
        )
        assert {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att(s, s.stack.messaging.key),
        } in found
        assert "SendTextMessage" not in json.dumps(found)


def test_the_delivery_events_topic_lets_only_the_configuration_set_publish(
    each_mode: Synthesized,
) -> None:
    s = each_mode
    topic_id = s.logical_id(s.stack.sending.delivery_events_topic)
    topic = s.template["Resources"][topic_id]["Properties"]
    assert topic["KmsMasterKeyId"] == get_att(s, s.stack.messaging.key)
    [policy] = [
        p["Properties"]
        for p in s.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    by_sid = {st["Sid"]: st for st in policy["PolicyDocument"]["Statement"]}
    assert by_sid["EndUserMessagingPublishesDeliveryEvents"] == {
        "Sid": "EndUserMessagingPublishesDeliveryEvents",
        "Effect": "Allow",
        "Principal": {"Service": "sms-voice.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic_id},
        "Condition": {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
            "ArnLike": {"aws:SourceArn": get_att(s, s.stack.messaging.configuration_set)},
        },
    }
    deny = [st for st in by_sid.values() if st["Effect"] == "Deny"]
    assert [st["Condition"] for st in deny] == [{"Bool": {"aws:SecureTransport": "false"}}]


def key_statement(synth: Synthesized) -> dict[str, Any]:
    key = properties(synth, synth.stack.messaging.key)
    [statement] = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Sid") == "EndUserMessagingPublishesEncrypted"
    ]
    return statement


def configuration_sets_arn() -> dict[str, Any]:
    return sms_voice_arn("configuration-set/*")


def test_the_key_lets_end_user_messaging_encrypt_for_this_accounts_configuration_sets(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    for synth, identity in ((new_number, ":phone-number/*"), (adopted, ADOPTED_NUMBER_ID)):
        statement = key_statement(synth)
        assert statement["Principal"] == {"Service": "sms-voice.amazonaws.com"}
        assert statement["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }
        sources = statement["Condition"]["ArnLike"]["aws:SourceArn"]
        assert len(sources) == 2
        assert configuration_sets_arn() in sources
        # The number (or this account's numbers) as before, for the inbound topic.
        [number] = [source for source in sources if source != configuration_sets_arn()]
        assert identity in json.dumps(number)


def test_the_configuration_set_publishes_every_sms_event_to_the_delivery_topic(
    each_mode: Synthesized,
) -> None:
    s = each_mode
    configuration_set = s.only("AWS::SMSVOICE::ConfigurationSet")
    destinations = {d["EventDestinationName"]: d for d in configuration_set["EventDestinations"]}
    assert set(destinations) == {"DeliveryEvents", "DeliveryEventsTopic"}
    assert destinations["DeliveryEventsTopic"] == {
        "EventDestinationName": "DeliveryEventsTopic",
        "Enabled": True,
        "MatchingEventTypes": ["TEXT_ALL"],
        "SnsDestination": {
            "TopicArn": {"Ref": s.logical_id(s.stack.sending.delivery_events_topic)}
        },
    }
    assert destinations["DeliveryEvents"]["MatchingEventTypes"] == ["TEXT_ALL"]
    assert "CloudWatchLogsDestination" in destinations["DeliveryEvents"]


def test_the_delivery_function_is_subscribed_to_the_delivery_topic(
    each_mode: Synthesized,
) -> None:
    s = each_mode
    topic = {"Ref": s.logical_id(s.stack.sending.delivery_events_topic)}
    subscriptions = [
        sub["Properties"]
        for sub in s.resources("AWS::SNS::Subscription").values()
        if sub["Properties"]["TopicArn"] == topic
    ]
    assert subscriptions == [
        {
            "Protocol": "lambda",
            "TopicArn": topic,
            "Endpoint": get_att(s, s.stack.delivery.function),
        }
    ]


def test_the_sender_and_delivery_functions_run_their_handlers(new_number: Synthesized) -> None:
    sender = properties(new_number, new_number.stack.sender.function)
    delivery = properties(new_number, new_number.stack.delivery.function)
    assert sender["Handler"] == names.SENDER_HANDLER == "optin.handlers.sender.handler"
    assert delivery["Handler"] == names.DELIVERY_HANDLER == "optin.handlers.delivery.handler"
    assert delivery["Timeout"] == 30


def environment(synth: Synthesized, which: str) -> dict[str, Any]:
    construct = getattr(synth.stack, which).function
    variables: dict[str, Any] = properties(synth, construct)["Environment"]["Variables"]
    return variables


def test_every_function_knows_the_queues_and_the_sending_settings(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    queues = send_queues(new_number)
    for which in ("registration", "inbound", "sender", "delivery"):
        variables = environment(new_number, which)
        # An SQS queue's Ref is its URL.
        assert variables["SEND_QUEUE_URL"] == {
            "Ref": new_number.logical_id(queues["transactional"].queue)
        }
        assert variables["BROADCAST_QUEUE_URL"] == {
            "Ref": new_number.logical_id(queues["broadcast"].queue)
        }
        configured = environment(adopted, which)
        assert configured["SEND_RATE_PER_SECOND"] == "3"
        assert configured["CONFIRMATION_MAX_DELAY_SECONDS"] == "600"
    # Infrastructure-only settings stay out of the functions.
    assert not {"SENDER_MAX_CONCURRENCY", "ALARM_SEND_QUEUE_AGE_SECONDS"} & set(
        environment(adopted, "sender")
    )


def test_the_sender_accepts_its_environment(adopted: Synthesized) -> None:
    variables = environment(adopted, "sender")
    concrete = {
        k: v if isinstance(v, str) else f"resolved-{k.lower()}" for k, v in variables.items()
    }
    concrete["ALLOWED_ORIGINS"] = "https://d111111abcdef8.cloudfront.net"
    concrete["FORM_URL"] = "https://d111111abcdef8.cloudfront.net/"
    settings = Settings.from_env(concrete)
    assert settings.send_rate_per_second == 3
    assert settings.confirmation_max_delay_seconds == 600
    assert settings.send_queue_url == "resolved-send_queue_url"
    assert settings.broadcast_queue_url == "resolved-broadcast_queue_url"


def test_sending_settings_default_as_documented() -> None:
    config = load(
        context_with(
            sendRatePerSecond=None,
            confirmationMaxDelaySeconds=None,
            senderMaxConcurrency=None,
            alarmSendQueueAgeSeconds=None,
        ).get
    )
    assert config.checked.send_rate_per_second == 1
    assert config.checked.confirmation_max_delay_seconds == 900
    assert config.sender_max_concurrency == 2
    assert config.alarm_send_queue_age_seconds == 300
    # Tests and local mode load without the stack's queue URLs.
    settings = Settings.from_env(
        {
            "TABLE_NAME": "t",
            "ORIGINATION_IDENTITY": "phone-1",
            "BRAND_NAME": "b",
            "PROGRAM_DESCRIPTION": "p",
            "MESSAGE_FREQUENCY": "f",
            "TERMS_URL": "https://t.example",
            "PRIVACY_URL": "https://p.example",
            "HELP_CONTACT": "h",
        }
    )
    assert settings.send_queue_url == settings.broadcast_queue_url == ""


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"sendRatePerSecond": 0}, "sendRatePerSecond (SEND_RATE_PER_SECOND)"),
        ({"sendRatePerSecond": 1001}, "sendRatePerSecond (SEND_RATE_PER_SECOND)"),
        ({"sendRatePerSecond": 1.5}, "sendRatePerSecond (SEND_RATE_PER_SECOND)"),
        (
            {"confirmationMaxDelaySeconds": 59},
            "confirmationMaxDelaySeconds (CONFIRMATION_MAX_DELAY_SECONDS)",
        ),
        (
            {"confirmationMaxDelaySeconds": 86_401},
            "confirmationMaxDelaySeconds (CONFIRMATION_MAX_DELAY_SECONDS)",
        ),
        ({"senderMaxConcurrency": 1}, "senderMaxConcurrency"),
        ({"senderMaxConcurrency": 1001}, "senderMaxConcurrency"),
        ({"alarmSendQueueAgeSeconds": 59}, "alarmSendQueueAgeSeconds"),
        ({"alarmSendQueueAgeSeconds": "soon"}, "alarmSendQueueAgeSeconds"),
    ],
)
def test_an_invalid_sending_setting_names_itself(changes: dict[str, Any], setting: str) -> None:
    with pytest.raises(SettingError) as raised:
        load(context_with(**changes).get)
    assert str(raised.value).startswith(f"setting {setting} ")


def queue_alarms(synth: Synthesized, queue: Any, metric_name: str) -> list[dict[str, Any]]:
    name = {"Fn::GetAtt": [synth.logical_id(queue), "QueueName"]}
    return [
        a
        for a in alarms(synth)
        if a["MetricName"] == metric_name
        and {"Name": "QueueName", "Value": name} in a["Dimensions"]
    ]


def test_alarms_on_send_dead_letters_queue_age_quota_and_dropped_confirmations(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    s = new_number
    topic = {"Ref": s.logical_id(s.stack.monitoring.alarm_topic)}
    queues = send_queues(s)
    for send_queue in queues.values():
        [dead_letters] = queue_alarms(
            s, send_queue.dead_letter_queue, "ApproximateNumberOfMessagesVisible"
        )
        assert dead_letters["Threshold"] == 1
        assert dead_letters["Statistic"] == "Maximum"
        assert dead_letters["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert dead_letters["AlarmActions"] == [topic]
    [age] = queue_alarms(s, queues["transactional"].queue, "ApproximateAgeOfOldestMessage")
    assert age["Threshold"] == 300
    assert age["Statistic"] == "Maximum"
    assert age["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert age["AlarmActions"] == [topic]
    [adopted_age] = queue_alarms(
        adopted, adopted.stack.sending.transactional.queue, "ApproximateAgeOfOldestMessage"
    )
    assert adopted_age["Threshold"] == 120
    for metric in (Metric.SEND_QUOTA_EXCEEDED, Metric.CONFIRMATION_DROPPED):
        [own] = [a for a in alarms(s) if a["MetricName"] == metric]
        assert own["Namespace"] == names.METRICS_NAMESPACE
        assert own["Dimensions"] == [{"Name": "service", "Value": names.SERVICE_NAME}]
        assert own["Statistic"] == "Sum"
        assert own["Threshold"] == 1
        assert own["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert own["AlarmActions"] == [topic]
    # Both sending functions' errors are alarmed too.
    errors = [a for a in alarms(s) if a["MetricName"] == "Errors"]
    for function in (s.stack.sender.function, s.stack.delivery.function):
        assert any(
            {"Name": "FunctionName", "Value": {"Ref": s.logical_id(function)}} in a["Dimensions"]
            for a in errors
        )


def dashboard_widgets(synth: Synthesized) -> list[dict[str, Any]]:
    """The dashboard body, resolved enough to read: tokens become their JSON text."""
    body = synth.only("AWS::CloudWatch::Dashboard")["DashboardBody"]
    text = "".join(
        part if isinstance(part, str) else json.dumps(part).replace('"', "'")
        for part in body["Fn::Join"][1]
    )
    widgets: list[dict[str, Any]] = json.loads(text)["widgets"]
    return widgets


def widget(synth: Synthesized, title: str) -> list[list[Any]]:
    [found] = [w for w in dashboard_widgets(synth) if w["properties"].get("title") == title]
    metrics: list[list[Any]] = found["properties"]["metrics"]
    return metrics


def test_the_dashboard_graphs_the_queues_sending_delivery_and_the_funnel(
    new_number: Synthesized,
) -> None:
    s = new_number
    queue_names = {
        kind: json.dumps({"Fn::GetAtt": [s.logical_id(q.queue), "QueueName"]}).replace('"', "'")
        for kind, q in send_queues(s).items()
    }
    depth = widget(s, "Send queues: messages")
    for queue_name in queue_names.values():
        shown = {m[1] for m in depth if m[3] == queue_name}
        assert shown == {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateNumberOfMessagesNotVisible",
        }
    age = widget(s, "Send queues: age of the oldest message")
    assert sorted(m[3] for m in age) == sorted(queue_names.values())
    assert {m[1] for m in age} == {"ApproximateAgeOfOldestMessage"}

    def service_metrics(metrics: list[list[Any]]) -> list[str]:
        return [m[1] for m in metrics if m[0] == names.METRICS_NAMESPACE]

    sending = service_metrics(widget(s, "Sending"))
    for metric in (Metric.MESSAGES_SENT, Metric.SEND_THROTTLED, Metric.SEND_DEFERRED):
        assert metric in sending
    assert service_metrics(widget(s, "Delivery")) == [Metric.DELIVERED, Metric.DELIVERY_FAILED]
    assert service_metrics(widget(s, "Funnel: registered, sent, delivered, confirmed")) == [
        Metric.REGISTRATION_ACCEPTED,
        Metric.CONFIRMATION_SENT,
        Metric.DELIVERED,
        Metric.CONFIRMED,
    ]
    dead_letters = widget(s, "Dead-letter queue depth")
    assert len(dead_letters) == 3  # inbound, transactional, broadcast
