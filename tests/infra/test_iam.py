"""Least privilege: every statement of each function role, and no wildcard action anywhere."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.infra.conftest import Synthesized

TABLE_ACTIONS = [
    "dynamodb:ConditionCheckItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
]
XRAY = {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"}


def statements(synth: Synthesized, which: str) -> list[dict[str, Any]]:
    """The statements of the stack's ``which`` function's role."""
    return role_statements(synth, getattr(synth.stack, which).role)


def role_statements(synth: Synthesized, role: Any) -> list[dict[str, Any]]:
    """All statements of the role's policies (inline and attached), without Effect."""
    role_id = synth.logical_id(role)
    found = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for original in policy["Properties"]["PolicyDocument"]["Statement"]:
                statement = copy.deepcopy(original)
                assert statement.pop("Effect") == "Allow"
                found.append(_sorted_resources(statement))
    role_properties = synth.template["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role_properties
    assert "Policies" not in role_properties
    return found


def _sorted_resources(statement: dict[str, Any]) -> dict[str, Any]:
    """Resource order carries no meaning (and the CDK sorts it): compare as sets."""
    if isinstance(statement["Resource"], list):
        statement["Resource"] = sorted(statement["Resource"], key=json.dumps)
    return statement


def get_att(synth: Synthesized, construct: Any, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(construct), attribute]}


def send_statement(synth: Synthesized, identity: Any) -> dict[str, Any]:
    messaging = synth.stack.messaging
    return _sorted_resources(
        {
            "Action": "sms-voice:SendTextMessage",
            "Resource": [
                get_att(synth, messaging.configuration_set),
                identity,
                get_att(synth, messaging.protect_configuration),
            ],
        }
    )


def enqueue_statements(synth: Synthesized) -> list[dict[str, Any]]:
    """What a function that queues SMS (but never sends) holds: the transactional queue."""
    return [
        {
            "Action": "sqs:SendMessage",
            "Resource": get_att(synth, synth.stack.sending.transactional.queue),
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": get_att(synth, synth.stack.messaging.key),
        },
    ]


def erasure_key_statement(synth: Synthesized) -> dict[str, Any]:
    """A registration of a number without a profile checks whether it was erased."""
    return {
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": synth.logical_id(synth.stack.admin.erasure_key)},
    }


def test_registration_role_with_a_new_number(new_number: Synthesized) -> None:
    s = new_number
    table = get_att(s, s.stack.data.table)
    assert statements(s, "registration") == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, s.stack.registration.log_group),
        },
        XRAY,
        {"Action": TABLE_ACTIONS, "Resource": table},
        *enqueue_statements(s),
        erasure_key_statement(s),
    ]


def test_inbound_role_with_a_new_number(new_number: Synthesized) -> None:
    s = new_number
    messaging = s.stack.messaging
    assert statements(s, "inbound") == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, s.stack.inbound.log_group),
        },
        XRAY,
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Resource": get_att(s, messaging.dead_letter_queue),
        },
        {
            "Action": ["sms-voice:DeleteOptedOutNumber", "sms-voice:PutOptedOutNumber"],
            "Resource": get_att(s, messaging.node.find_child("OptOutList")),
        },
        {"Action": TABLE_ACTIONS, "Resource": get_att(s, s.stack.data.table)},
        *enqueue_statements(s),
    ]


def sms_voice_arn(resource: str) -> dict[str, Any]:
    """An End User Messaging ARN in the stack's partition, region and account."""
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sms-voice:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":{resource}",
            ],
        ]
    }


def adopted_number_arn() -> dict[str, Any]:
    return sms_voice_arn("phone-number/phone-0123456789abcdef0123456789abcdef")


def test_carrier_lookup_is_granted_only_when_configured(
    adopted: Synthesized, new_number: Synthesized
) -> None:
    s = adopted
    assert statements(s, "registration") == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, s.stack.registration.log_group),
        },
        XRAY,
        {
            "Sid": "CarrierLookupHasNoResourceLevelPermissions",
            "Action": "sms-voice:CarrierLookup",
            "Resource": "*",
        },
        {"Action": TABLE_ACTIONS, "Resource": get_att(s, s.stack.data.table)},
        *enqueue_statements(s),
        erasure_key_statement(s),
    ]
    assert send_statement(s, adopted_number_arn()) in statements(s, "sender")
    actions = str(statements(new_number, "registration"))
    assert "CarrierLookup" not in actions


def test_an_adopted_pool_sends_through_the_pool_and_keeps_its_opt_out_list(
    adopted_pool: Synthesized,
) -> None:
    s = adopted_pool
    inbound = statements(s, "inbound")
    sender = statements(s, "sender")
    send = next(st for st in sender if st["Action"] == "sms-voice:SendTextMessage")
    assert (
        "arn:aws:sms-voice:us-east-1:111122223333:pool/pool-0123456789abcdef0123456789abcdef"
        in send["Resource"]
    )
    delete = next(st for st in inbound if "sms-voice:DeleteOptedOutNumber" in st["Action"])
    assert delete["Resource"]["Fn::Join"][1][-1] == ":opt-out-list/Default"


def test_the_inbound_function_may_put_numbers_on_the_opt_out_list_only(
    each_mode: Synthesized,
) -> None:
    """An opt-out the platform did not catch ("please stop") is listed by the inbound
    function, or by the sender once the opt-out confirmation has left; on our list only."""
    stack = each_mode.stack
    found = {
        which: statement
        for which in ("registration", "inbound", "sender", "delivery")
        for statement in statements(each_mode, which)
        if "sms-voice:PutOptedOutNumber" in json.dumps(statement["Action"])
    }
    assert sorted(found) == ["inbound", "sender"]
    for statement in found.values():
        assert stack.resolve(stack.messaging.opt_out_list_arn) == statement["Resource"]


def test_no_statement_anywhere_allows_a_wildcard_action(each_mode: Synthesized) -> None:
    for policy in each_mode.resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            for action in actions if isinstance(actions, list) else [actions]:
                assert action != "*", statement
                assert not action.endswith(":*"), statement


def test_each_function_has_its_own_role(each_mode: Synthesized) -> None:
    stack = each_mode.stack
    assert stack.registration.role is not stack.inbound.role
    functions = each_mode.resources("AWS::Lambda::Function")
    roles = {
        logical_id: properties["Properties"]["Role"]["Fn::GetAtt"][0]
        for logical_id, properties in functions.items()
    }
    assert roles[each_mode.logical_id(stack.registration.function)] == each_mode.logical_id(
        stack.registration.role
    )
    assert roles[each_mode.logical_id(stack.inbound.function)] == each_mode.logical_id(
        stack.inbound.role
    )
    ours = (stack.registration, stack.inbound, stack.sender, stack.delivery)
    assert len({id(function.role) for function in ours}) == len(ours)
    for function in ours[2:]:
        assert roles[each_mode.logical_id(function.function)] == each_mode.logical_id(function.role)


def test_delivery_events_role_is_for_end_user_messaging_in_this_account(
    new_number: Synthesized,
) -> None:
    messaging = new_number.stack.messaging
    role = new_number.template["Resources"][
        new_number.logical_id(messaging.node.find_child("DeliveryEventsRole"))
    ]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            "Effect": "Allow",
            "Principal": {"Service": "sms-voice.amazonaws.com"},
        }
    ]
