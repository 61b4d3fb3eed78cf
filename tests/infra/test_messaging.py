"""SMS resources, the two-way channel, and the inbound function's wiring."""

from __future__ import annotations

import json
from typing import Any

import phonenumbers

from infra.messaging import SMS_SDK
from tests.infra.conftest import ADOPTED_NUMBER_ID, ADOPTED_POOL_ARN, Synthesized


def test_the_topic_lets_only_end_user_messaging_of_this_account_publish(
    each_mode: Synthesized,
) -> None:
    topic = each_mode.logical_id(each_mode.stack.messaging.inbound_topic)
    policies = [
        p["Properties"]
        for p in each_mode.resources("AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": topic}]
    ]
    [policy] = policies
    statements = {s.get("Sid", s["Effect"]): s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["EndUserMessagingPublishesInboundSms"] == {
        "Sid": "EndUserMessagingPublishesInboundSms",
        "Effect": "Allow",
        "Principal": {"Service": "sms-voice.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic},
        "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
    }
    # Everything else: TLS only.
    deny = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_inbound_function_is_subscribed_to_the_topic(each_mode: Synthesized) -> None:
    topic = {"Ref": each_mode.logical_id(each_mode.stack.messaging.inbound_topic)}
    [subscription] = [
        s["Properties"]
        for s in each_mode.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Protocol"] == "lambda" and s["Properties"]["TopicArn"] == topic
    ]
    assert subscription["TopicArn"] == topic
    # SnapStart (on by default): the function's live alias, spelled from the function's ARN.
    function_arn = {"Fn::GetAtt": [each_mode.logical_id(each_mode.stack.inbound.function), "Arn"]}
    assert subscription["Endpoint"] == {"Fn::Join": [":", [function_arn, "live"]]}


def test_the_dead_letter_queue_is_encrypted_and_tls_only(each_mode: Synthesized) -> None:
    queue_id = each_mode.logical_id(each_mode.stack.messaging.dead_letter_queue)
    queue = each_mode.template["Resources"][queue_id]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    [policy] = [
        p["Properties"]
        for p in each_mode.resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": queue_id}]
    ]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_protect_configuration_allows_only_the_allowed_countries(
    new_number: Synthesized,
) -> None:
    rules = new_number.only("AWS::SMSVOICE::ProtectConfiguration")["CountryRuleSet"]["SMS"]
    allowed = {r["CountryCode"] for r in rules if r["ProtectStatus"] == "ALLOW"}
    blocked = {r["CountryCode"] for r in rules if r["ProtectStatus"] == "BLOCK"}
    assert allowed == {"US", "CA"}
    assert {"FR", "GB", "MX", "CU", "KP"} <= blocked
    assert not allowed & blocked
    assert allowed | blocked >= set(phonenumbers.SUPPORTED_REGIONS) - {"AC", "TA", "XK"}
    assert {r["ProtectStatus"] for r in rules} == {"ALLOW", "BLOCK"}


def test_the_configuration_set_logs_delivery_events_and_uses_the_protection(
    new_number: Synthesized,
) -> None:
    messaging = new_number.stack.messaging
    configuration_set = new_number.only("AWS::SMSVOICE::ConfigurationSet")
    assert configuration_set["ProtectConfigurationId"] == {
        "Fn::GetAtt": [
            new_number.logical_id(messaging.protect_configuration),
            "ProtectConfigurationId",
        ]
    }
    [destination] = [
        d
        for d in configuration_set["EventDestinations"]
        if d["EventDestinationName"] == "DeliveryEvents"
    ]
    assert destination["Enabled"] is True
    assert destination["MatchingEventTypes"] == ["TEXT_ALL"]
    logs = destination["CloudWatchLogsDestination"]
    assert logs["IamRoleArn"] == {
        "Fn::GetAtt": [
            new_number.logical_id(messaging.node.find_child("DeliveryEventsRole")),
            "Arn",
        ]
    }
    log_group = new_number.logical_id(messaging.delivery_events)
    assert {"Ref": log_group} in logs["LogGroupArn"]["Fn::Join"][1]


def test_a_new_number_has_its_two_way_channel_keywords_and_opt_out_list(
    new_number: Synthesized,
) -> None:
    messaging = new_number.stack.messaging
    [(logical_id, resource)] = new_number.resources("AWS::SMSVOICE::PhoneNumber").items()
    number = resource["Properties"]
    assert number["IsoCountryCode"] == "US"
    assert number["NumberType"] == "SIMULATOR"
    assert number["NumberCapabilities"] == ["SMS"]
    assert number["TwoWay"] == {
        "Enabled": True,
        "ChannelArn": {"Ref": new_number.logical_id(messaging.inbound_topic)},
    }
    assert number["SelfManagedOptOutsEnabled"] is False
    assert number["OptOutListName"] == {
        "Ref": new_number.logical_id(messaging.node.find_child("OptOutList"))
    }
    texts = new_number.stack.config.checked.texts
    assert number["MandatoryKeywords"] == {
        "HELP": {"Message": texts.render("help")},
        "STOP": {"Message": texts.render("stop")},
    }
    assert "OptionalKeywords" not in number  # the inbound function answers YES itself
    assert number["DeletionProtectionEnabled"] is True
    assert resource["DeletionPolicy"] == "Retain"
    # The topic policy exists before the number points at the topic.
    assert any("InboundTopicPolicy" in dependency for dependency in resource["DependsOn"])
    opt_out_list = new_number.resources("AWS::SMSVOICE::OptOutList")
    assert [r["DeletionPolicy"] for r in opt_out_list.values()] == ["Retain"]
    assert logical_id


def sdk_calls(synth: Synthesized) -> dict[str, dict[str, Any]]:
    calls = {}
    for logical_id, resource in synth.resources("Custom::AWS").items():
        properties = resource["Properties"]
        calls[logical_id] = {
            phase: json.loads(_flatten(properties[phase]))
            for phase in ("Create", "Update", "Delete")
            if phase in properties
        }
    return calls


def _flatten(value: Any) -> str:
    """Fn::Join of a JSON document with tokens -> the JSON text with placeholders."""
    if isinstance(value, str):
        return value
    parts = value["Fn::Join"][1]
    return "".join(part if isinstance(part, str) else "TOKEN" for part in parts)


def test_adopting_a_number_configures_its_channel_and_keywords_only(adopted: Synthesized) -> None:
    assert not adopted.resources("AWS::SMSVOICE::PhoneNumber")
    calls = sdk_calls(adopted)
    by_action = {}
    for phases in calls.values():
        assert phases["Create"] == phases["Update"]
        assert phases["Create"]["service"] == SMS_SDK
        by_action.setdefault(phases["Create"]["action"], []).append(phases)
    [channel] = by_action["UpdatePhoneNumber"]
    assert channel["Create"]["parameters"] == {
        "PhoneNumberId": ADOPTED_NUMBER_ID,
        "TwoWayEnabled": True,
        "TwoWayChannelArn": "TOKEN",
        "SelfManagedOptOutsEnabled": False,
        "OptOutListName": "TOKEN",
    }
    assert channel["Delete"]["parameters"] == {
        "PhoneNumberId": ADOPTED_NUMBER_ID,
        "TwoWayEnabled": False,
    }
    keywords = {
        call["Create"]["parameters"]["Keyword"]: call["Create"]["parameters"]
        for call in by_action["PutKeyword"]
    }
    texts = adopted.stack.config.checked.texts
    assert keywords == {
        "HELP": {
            "OriginationIdentity": ADOPTED_NUMBER_ID,
            "Keyword": "HELP",
            "KeywordMessage": texts.render("help"),
            "KeywordAction": "AUTOMATIC_RESPONSE",
        },
        "STOP": {
            "OriginationIdentity": ADOPTED_NUMBER_ID,
            "Keyword": "STOP",
            "KeywordMessage": texts.render("stop"),
            "KeywordAction": "OPT_OUT",
        },
    }
    assert set(by_action) == {"UpdatePhoneNumber", "PutKeyword"}


def test_the_adoption_handler_may_call_only_what_it_needs_on_our_resources(
    adopted: Synthesized,
) -> None:
    policies = [
        p["Properties"]
        for p in adopted.resources("AWS::IAM::Policy").values()
        if "sms-voice:PutKeyword" in json.dumps(p["Properties"]["PolicyDocument"])
    ]
    assert len(policies) == 3  # one per custom resource: channel, HELP, STOP
    statements = [s for policy in policies for s in policy["PolicyDocument"]["Statement"]]
    assert {json.dumps(s["Action"]) for s in statements} == {
        '"sms-voice:UpdatePhoneNumber"',
        '"sms-voice:PutKeyword"',
    }
    for statement in statements:
        assert statement["Resource"] != "*"


def test_adopting_a_pool_by_arn_updates_the_pool(adopted_pool: Synthesized) -> None:
    calls = sdk_calls(adopted_pool)
    actions = {phases["Create"]["action"]: phases for phases in calls.values()}
    assert actions["UpdatePool"]["Create"]["parameters"]["PoolId"] == ADOPTED_POOL_ARN
    assert actions["UpdatePool"]["Create"]["parameters"]["OptOutListName"] == "Default"
    assert not adopted_pool.resources("AWS::SMSVOICE::OptOutList")
