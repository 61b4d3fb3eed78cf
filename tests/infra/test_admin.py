"""The operator API and housekeeping as deployed: IAM on every admin method, the managed
policy that grants exactly those methods, each function's role, the erasure key, the
hourly schedule and the outputs."""

from __future__ import annotations

from typing import Any

from infra import names
from infra.admin import ADMIN_TABLE_ACTIONS, HOUSEKEEPING_TABLE_ACTIONS
from tests.infra.conftest import Synthesized
from tests.infra.test_api import deployed_operations
from tests.infra.test_iam import role_statements
from tests.infra.test_monitoring import alarms

XRAY = {"Action": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "Resource": "*"}


def get_att(synth: Synthesized, construct: Any, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(construct), attribute]}


def method_arn(synth: Synthesized, method: str, path: str) -> dict[str, Any]:
    api = synth.logical_id(synth.stack.api.rest_api)
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":execute-api:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":",
                {"Ref": api},
                f"/v1/{method}/admin/{path}",
            ],
        ]
    }


def table_statements(synth: Synthesized, actions: tuple[str, ...]) -> list[dict[str, Any]]:
    table = get_att(synth, synth.stack.data.table)
    return [
        {"Action": list(actions), "Resource": table},
        {"Action": "dynamodb:Query", "Resource": {"Fn::Join": ["", [table, "/index/byStatus"]]}},
    ]


def key_statement(synth: Synthesized) -> dict[str, Any]:
    return {
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": synth.logical_id(synth.stack.admin.erasure_key)},
    }


def test_every_admin_method_is_authorised_by_iam_and_register_stays_public(
    each_mode: Synthesized,
) -> None:
    resources = each_mode.resources("AWS::ApiGateway::Resource")
    admin_id = each_mode.logical_id(each_mode.stack.api.admin)

    def under_admin(resource_ref: dict[str, Any]) -> bool:
        logical_id = resource_ref.get("Ref")
        while logical_id in resources:
            if logical_id == admin_id:
                return True
            logical_id = resources[logical_id]["Properties"]["ParentId"].get("Ref")
        return False

    methods = [m["Properties"] for m in each_mode.resources("AWS::ApiGateway::Method").values()]
    admin = [m for m in methods if under_admin(m["ResourceId"])]
    assert len(admin) == len(names.ADMIN_ROUTES)
    assert {m["AuthorizationType"] for m in admin} == {"AWS_IAM"}
    public = [m for m in methods if not under_admin(m["ResourceId"])]
    assert {m["HttpMethod"] for m in public} == {"POST", "OPTIONS"}
    assert {m["AuthorizationType"] for m in public} == {"NONE"}
    for method in admin:
        assert method["Integration"]["Type"] == "AWS_PROXY"
        target = method["Integration"]["Uri"]["Fn::Join"][1]
        assert get_att(each_mode, each_mode.stack.admin.function.function) in target


def test_the_admin_routes_are_the_ones_named_once(new_number: Synthesized) -> None:
    deployed = {op for op in deployed_operations(new_number) if op[0].startswith("/admin")}
    assert deployed == {(f"/admin/{path}", method.lower()) for method, path in names.ADMIN_ROUTES}


def test_the_operator_policy_grants_invoking_the_admin_methods_and_nothing_else(
    each_mode: Synthesized,
) -> None:
    s = each_mode
    [policy] = s.resources("AWS::IAM::ManagedPolicy").values()
    properties = policy["Properties"]
    assert properties["ManagedPolicyName"] == f"{s.stack.stack_name}-OperatorAccess"
    [statement] = properties["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "execute-api:Invoke"
    expected = [
        method_arn(s, method, "/".join("*" if p.startswith("{") else p for p in path.split("/")))
        for method, path in names.ADMIN_ROUTES
    ]
    assert sorted(map(str, statement["Resource"])) == sorted(map(str, expected))
    for attachment in ("Roles", "Users", "Groups"):  # the operators attach it themselves
        assert attachment not in properties
    # The public route is not in it; nothing else of the API is.
    assert "register" not in str(statement["Resource"])


def test_the_admin_function_role(each_mode: Synthesized) -> None:
    s = each_mode
    function = s.stack.admin.function
    statements = role_statements(s, function.role)
    assert statements[:2] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, function.log_group),
        },
        XRAY,
    ]
    assert statements[2:4] == table_statements(s, ADMIN_TABLE_ACTIONS)
    assert statements[4] == key_statement(s)
    # A new broadcast's first plan step goes on the broadcast queue (SSE-KMS), nowhere else.
    assert statements[6:] == [
        {
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": [s.logical_id(s.stack.sending.broadcast.queue), "Arn"]},
        },
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": {"Fn::GetAtt": [s.logical_id(s.stack.messaging.key), "Arn"]},
        },
    ]
    [put] = statements[5:6]
    assert put["Action"] == "sms-voice:PutOptedOutNumber"
    opt_out_list = s.stack.messaging.node.try_find_child("OptOutList")
    if opt_out_list is not None:
        assert put["Resource"] == get_att(s, opt_out_list)
    else:  # an adopted list: its ARN, built from its name
        assert put["Resource"]["Fn::Join"][1][-1] == ":opt-out-list/Default"
    # Nothing that sends SMS, nothing on any other table or secret.
    assert "SendTextMessage" not in str(statements)
    assert "DeleteOptedOutNumber" not in str(statements)


def test_the_housekeeping_role_has_no_sms_at_all(new_number: Synthesized) -> None:
    s = new_number
    function = s.stack.admin.housekeeping
    assert role_statements(s, function.role) == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": get_att(s, function.log_group),
        },
        XRAY,
        *table_statements(s, HOUSEKEEPING_TABLE_ACTIONS),
        key_statement(s),
    ]


def test_the_erasure_key_is_generated_and_retained(new_number: Synthesized) -> None:
    [secret] = new_number.resources("AWS::SecretsManager::Secret").values()
    assert secret["Properties"]["GenerateSecretString"] == {
        "ExcludePunctuation": True,
        "PasswordLength": 64,
    }
    assert "SecretString" not in secret["Properties"]
    assert secret["DeletionPolicy"] == "Retain"
    assert secret["UpdateReplacePolicy"] == "Retain"


def test_only_the_functions_that_hash_numbers_know_the_key(new_number: Synthesized) -> None:
    s = new_number
    key = {"Ref": s.logical_id(s.stack.admin.erasure_key)}

    def variables(function: Any) -> dict[str, Any]:
        resource = s.template["Resources"][s.logical_id(function)]
        return dict(resource["Properties"]["Environment"]["Variables"])

    for function in (
        s.stack.registration.function,
        s.stack.admin.function.function,
        s.stack.admin.housekeeping.function,
    ):
        assert variables(function)["ERASURE_KEY_SECRET_ARN"] == key
    assert "ERASURE_KEY_SECRET_ARN" not in variables(s.stack.inbound.function)
    assert "GetSecretValue" not in str(
        [
            p
            for p in s.resources("AWS::IAM::Policy").values()
            if {"Ref": s.logical_id(s.stack.inbound.role)} in p["Properties"]["Roles"]
        ]
    )


def test_the_handlers_and_their_limits(new_number: Synthesized) -> None:
    s = new_number
    admin = s.template["Resources"][s.logical_id(s.stack.admin.function.function)]["Properties"]
    housekeeping = s.template["Resources"][s.logical_id(s.stack.admin.housekeeping.function)][
        "Properties"
    ]
    assert admin["Handler"] == names.ADMIN_HANDLER == "optin.handlers.admin.handler"
    assert admin["Timeout"] == 29
    assert (
        housekeeping["Handler"]
        == names.HOUSEKEEPING_HANDLER
        == "optin.handlers.housekeeping.handler"
    )
    assert housekeeping["Timeout"] == 300
    assert admin["Code"] == housekeeping["Code"]  # the one shared asset


def test_housekeeping_runs_every_hour(each_mode: Synthesized) -> None:
    s = each_mode
    [rule] = s.resources("AWS::Events::Rule").values()
    properties = rule["Properties"]
    assert properties["ScheduleExpression"] == "rate(1 hour)"
    assert properties["State"] == "ENABLED"
    [target] = properties["Targets"]
    assert target["Arn"] == get_att(s, s.stack.admin.housekeeping.function)
    permissions = [
        p["Properties"]
        for p in s.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": get_att(s, s.stack.admin.housekeeping.function),
            "Principal": "events.amazonaws.com",
            "SourceArn": get_att(s, s.stack.admin.schedule),
        }
    ]


def test_the_outputs_name_the_admin_url_and_the_policy(each_mode: Synthesized) -> None:
    outputs = each_mode.template["Outputs"]
    url = outputs[names.OUTPUT_ADMIN_API_URL]["Value"]["Fn::Join"][1]
    assert url[0] == "https://"
    assert url[-1] == "/admin"
    assert outputs[names.OUTPUT_OPERATOR_POLICY_ARN]["Value"] == {
        "Ref": each_mode.logical_id(each_mode.stack.admin.operator_policy)
    }


def test_admin_and_housekeeping_errors_are_alarmed(new_number: Synthesized) -> None:
    s = new_number
    alarmed = {str(alarm["Dimensions"]) for alarm in alarms(s) if alarm["MetricName"] == "Errors"}
    for function in (s.stack.admin.function.function, s.stack.admin.housekeeping.function):
        assert any(s.logical_id(function) in dimensions for dimensions in alarmed), function
