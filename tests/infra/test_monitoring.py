"""Alarms to one topic (e-mail when configured) and a dashboard of the funnel."""

from __future__ import annotations

import json

import pytest

from infra import names
from infra.monitoring import METRIC_ALARMS, METRIC_GRAPHS, check_every_metric_is_graphed
from optin.observability import Metric
from tests.infra.conftest import Synthesized


def alarms(synth: Synthesized) -> list[dict]:
    """Each alarm with its metric's namespace, name and dimensions at the top level."""
    found = []
    for resource in synth.resources("AWS::CloudWatch::Alarm").values():
        alarm = dict(resource["Properties"])
        if "Metrics" in alarm:  # a labelled metric is rendered as a one-metric query
            [query] = alarm["Metrics"]
            metric = query["MetricStat"]["Metric"]
            alarm.update(
                Namespace=metric["Namespace"],
                MetricName=metric["MetricName"],
                Dimensions=metric.get("Dimensions", []),
                Statistic=query["MetricStat"]["Stat"],
                Period=query["MetricStat"]["Period"],
            )
        found.append(alarm)
    return found


def test_alarms_cover_function_errors_dead_letters_lost_messages_lost_evidence_and_5xx(
    new_number: Synthesized,
) -> None:
    everything = alarms(new_number)
    topic = {"Ref": new_number.logical_id(new_number.stack.monitoring.alarm_topic)}
    found = [a for a in everything if a["MetricName"] not in VOLUME_METRICS]
    metrics = set()
    for alarm in found:
        assert alarm["AlarmActions"] == [topic]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
        metrics.add((alarm["Namespace"], alarm["MetricName"]))
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        (names.METRICS_NAMESPACE, Metric.SMS_SEND_FAILED),
        (names.METRICS_NAMESPACE, Metric.LEDGER_WRITE_FAILED),
        (names.METRICS_NAMESPACE, Metric.MALFORMED_INBOUND),
        (names.METRICS_NAMESPACE, Metric.SEND_QUOTA_EXCEEDED),
        (names.METRICS_NAMESPACE, Metric.CONFIRMATION_DROPPED),
        (names.METRICS_NAMESPACE, Metric.CONFIRMATION_BUDGET_EXHAUSTED),
        ("AWS/ApiGateway", "5XXError"),
    }
    # Errors of each of the six functions, depth of each of the three dead-letter queues,
    # six metrics of the service's own and the API's 5XX, counted separately.
    assert len(found) == 6 + 3 + 6 + 1
    for metric in (Metric.SMS_SEND_FAILED, Metric.LEDGER_WRITE_FAILED, Metric.MALFORMED_INBOUND):
        [own] = [a for a in found if a["MetricName"] == metric]
        assert own["Dimensions"] == [{"Name": "service", "Value": names.SERVICE_NAME}]
        assert own["Statistic"] == "Sum"
        assert own["Period"] == 300


VOLUME_METRICS = (Metric.CONFIRMATION_SENT, "BlockedRequests", "ApproximateAgeOfOldestMessage")


def test_a_spent_confirmation_budget_alarms_at_its_first_refusal(new_number: Synthesized) -> None:
    topic = {"Ref": new_number.logical_id(new_number.stack.monitoring.alarm_topic)}
    [budget] = [
        a for a in alarms(new_number) if a["MetricName"] == Metric.CONFIRMATION_BUDGET_EXHAUSTED
    ]
    assert budget["Namespace"] == names.METRICS_NAMESPACE
    assert budget["Dimensions"] == [{"Name": "service", "Value": names.SERVICE_NAME}]
    assert (budget["Statistic"], budget["Period"], budget["Threshold"]) == ("Sum", 300, 1)
    assert budget["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert budget["AlarmActions"] == budget["OKActions"] == [topic]
    assert "dailyConfirmationBudget" in budget["AlarmDescription"]


def test_volume_alarms_fire_past_their_configured_ceilings(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    topic = {"Ref": new_number.logical_id(new_number.stack.monitoring.alarm_topic)}
    volume = {a["MetricName"]: a for a in alarms(new_number) if a["MetricName"] in VOLUME_METRICS}
    confirmations = volume[Metric.CONFIRMATION_SENT]
    assert confirmations["AlarmActions"] == [topic]
    assert confirmations["Threshold"] == 200
    assert confirmations["Period"] == 3600
    assert confirmations["Statistic"] == "Sum"
    assert confirmations["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    blocks = volume["BlockedRequests"]
    assert blocks["Namespace"] == "AWS/WAFV2"
    assert blocks["Threshold"] == 100
    assert blocks["Period"] == 300
    dimensions = {d["Name"]: d["Value"] for d in blocks["Dimensions"]}
    assert dimensions["WebACL"] == new_number.stack.protection.web_acl_name
    assert dimensions["Rule"] == "ALL"
    adopted_volume = {
        a["MetricName"]: a["Threshold"]
        for a in alarms(adopted)
        if a["MetricName"] in VOLUME_METRICS
    }
    assert adopted_volume == {
        Metric.CONFIRMATION_SENT: 50,
        "BlockedRequests": 40,
        "ApproximateAgeOfOldestMessage": 120,
    }


def test_the_alarm_topic_mails_the_operator_only_when_configured(
    new_number: Synthesized, adopted: Synthesized
) -> None:
    def email_subscriptions(synth: Synthesized) -> list[dict]:
        return [
            s["Properties"]
            for s in synth.resources("AWS::SNS::Subscription").values()
            if s["Properties"]["Protocol"] == "email"
        ]

    assert email_subscriptions(new_number) == []
    [subscription] = email_subscriptions(adopted)
    assert subscription["Endpoint"] == "ops@example.com"
    assert subscription["TopicArn"] == {
        "Ref": adopted.logical_id(adopted.stack.monitoring.alarm_topic)
    }


def test_the_dashboard_shows_every_metric_the_functions_emit(new_number: Synthesized) -> None:
    body = new_number.only("AWS::CloudWatch::Dashboard")["DashboardBody"]
    text = json.dumps(body)
    for metric in (
        *(metric.value for metric in Metric),
        "ApproximateNumberOfMessagesVisible",
        "4XXError",
        "5XXError",
        "Latency",
    ):
        assert f'\\"{metric}\\"' in text, metric


def test_a_metric_left_off_the_dashboard_or_graphed_twice_is_refused() -> None:
    check_every_metric_is_graphed(METRIC_GRAPHS)
    incomplete = {title: dict(members) for title, members in METRIC_GRAPHS.items()}
    del incomplete["Confirmations"][Metric.CONFIRMED]
    with pytest.raises(ValueError, match="Confirmed"):
        check_every_metric_is_graphed(incomplete)
    twice = {**METRIC_GRAPHS, "Again": {Metric.CONFIRMED: "Confirmed again"}}
    with pytest.raises(ValueError, match="each metric once"):
        check_every_metric_is_graphed(twice)


def test_every_alarmed_metric_is_one_the_functions_emit() -> None:
    assert set(METRIC_ALARMS) <= set(Metric)
    assert {Metric.SMS_SEND_FAILED, Metric.LEDGER_WRITE_FAILED, Metric.MALFORMED_INBOUND} <= set(
        METRIC_ALARMS
    )


def test_each_metric_alarm_is_named_after_its_metric(new_number: Synthesized) -> None:
    alarms = {
        logical_id: resource
        for logical_id, resource in new_number.template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    for metric, description in METRIC_ALARMS.items():
        [named] = [
            properties
            for logical_id, properties in alarms.items()
            if logical_id.startswith(f"Monitoring{metric.value}")
        ]
        [watched] = named["Properties"]["Metrics"]
        assert watched["MetricStat"]["Metric"]["MetricName"] == metric.value
        assert named["Properties"]["AlarmDescription"] == description
