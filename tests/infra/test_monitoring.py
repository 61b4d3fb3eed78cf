"""Alarms to one topic (e-mail when configured) and a dashboard of the funnel."""

from __future__ import annotations

import json

from infra import names
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
            )
        found.append(alarm)
    return found


def test_alarms_cover_function_errors_dead_letters_sms_failures_and_5xx(
    new_number: Synthesized,
) -> None:
    found = alarms(new_number)
    topic = {"Ref": new_number.logical_id(new_number.stack.monitoring.alarm_topic)}
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
        (names.METRICS_NAMESPACE, names.METRIC_SMS_SEND_FAILED),
        ("AWS/ApiGateway", "5XXError"),
    }
    assert len(found) == 5  # errors of each function, counted separately
    [sms] = [a for a in found if a["MetricName"] == names.METRIC_SMS_SEND_FAILED]
    assert sms["Dimensions"] == [{"Name": "service", "Value": names.SERVICE_NAME}]


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
        names.METRIC_REGISTRATION_ACCEPTED,
        names.METRIC_REGISTRATION_REJECTED,
        names.METRIC_CONFIRMATION_SENT,
        names.METRIC_CONFIRMED,
        names.METRIC_OPTED_OUT,
        names.METRIC_EXPIRED,
        names.METRIC_SMS_SEND_FAILED,
        names.METRIC_UNMATCHED_REPLY,
        names.METRIC_MALFORMED_INBOUND,
        "ApproximateNumberOfMessagesVisible",
        "4XXError",
        "5XXError",
        "Latency",
    ):
        assert f'\\"{metric}\\"' in text, metric
