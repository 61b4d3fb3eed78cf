"""A dashboard of the opt-in funnel and the failure signals, and alarms to one topic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import names
from optin.observability import Metric

PERIOD = Duration.minutes(5)

# The dashboard's graphs of the functions' own metrics: every ``Metric`` stands in one of
# them (checked at synth), so a metric added to the functions cannot be left off.
METRIC_GRAPHS: dict[str, dict[Metric, str]] = {
    "Registrations": {
        Metric.REGISTRATION_ACCEPTED: "Accepted",
        Metric.REGISTRATION_REJECTED: "Rejected",
        Metric.REGISTRATION_FAILED: "Failed (500)",
        Metric.CONFIRMATION_BUDGET_EXHAUSTED: "Refused: the day's budget is spent",
    },
    "Confirmations": {
        Metric.CONFIRMATION_SENT: "Confirmation SMS sent",
        Metric.CONFIRMED: "Confirmed",
    },
    "Replies": {
        Metric.INBOUND_MESSAGES: "Inbound messages",
        Metric.OPTED_OUT: "Opted out",
        Metric.EXPIRED: "Expired",
        Metric.HELP_REQUESTED: "Help requested",
        Metric.UNMATCHED_REPLY: "Unmatched replies",
    },
    "Sending": {
        Metric.MESSAGES_QUEUED: "Queued",
        Metric.MESSAGES_SENT: "Sent",
        Metric.SEND_DEFERRED: "Deferred (pacing)",
        Metric.SEND_THROTTLED: "Throttled (put back)",
        Metric.SEND_QUOTA_EXCEEDED: "Quota or spend limit (retried later)",
        Metric.DUPLICATE_SEND_SKIPPED: "Duplicates skipped",
        Metric.SEND_SKIPPED_OPTED_OUT: "Skipped: opted out meanwhile",
    },
    "Delivery": {
        Metric.DELIVERED: "Delivered",
        Metric.DELIVERY_FAILED: "Failed",
    },
    "Lost messages and lost evidence": {
        Metric.SMS_SEND_FAILED: "SMS send failures",
        Metric.CONFIRMATION_DROPPED: "Confirmations dropped (waited too long)",
        Metric.LEDGER_WRITE_FAILED: "SMS sent, ledger not written",
        Metric.MALFORMED_INBOUND: "Malformed inbound",
        Metric.INBOUND_FAILED: "Inbound failures (retried)",
        Metric.DEPENDENCY_UNAVAILABLE: "A dependency failed (answered 503 or retried)",
    },
    "Operations": {
        Metric.OPERATOR_REQUESTS: "Operator API requests",
        Metric.ERASED: "Numbers erased",
    },
}

# Alarms on the functions' own metrics: each count that means a message or its consent
# evidence was lost, or that sending is blocked. Threshold: one in a five-minute period.
# Each alarm is named after its metric (construct id ``Metric.value``), its description here.
METRIC_ALARMS: dict[Metric, str] = {
    Metric.SMS_SEND_FAILED: "End User Messaging refused or failed a send.",
    # Not a loss but a closed door: nobody can sign up until midnight UTC.
    Metric.CONFIRMATION_BUDGET_EXHAUSTED: (
        "The day's confirmation budget (dailyConfirmationBudget) is spent: every registration "
        "is answered 429 until midnight UTC. SMS pumping (check ConfirmationSent and the "
        "limit counters), or real demand: then raise dailyConfirmationBudget and deploy."
    ),
    Metric.LEDGER_WRITE_FAILED: (
        "An SMS left but its consent ledger event was not written: the evidence has a gap "
        "(the function log names the message id)."
    ),
    Metric.MALFORMED_INBOUND: (
        "An inbound message could not be read and was dropped (see the inbound log)."
    ),
    Metric.SEND_QUOTA_EXCEEDED: (
        "End User Messaging refused a send for a quota or the account's spend limit: messages "
        "wait in the send queue and are retried; raise the limit (docs/deploy.md)."
    ),
    Metric.CONFIRMATION_DROPPED: (
        "A confirmation SMS was not sent within confirmationMaxDelaySeconds and was dropped "
        "(the person may register again): sign-ups outrun sendRatePerSecond, or sending is "
        "blocked."
    ),
}

# The funnel, one graph: how many of those who registered got, received and confirmed it.
FUNNEL: dict[Metric, str] = {
    Metric.REGISTRATION_ACCEPTED: "Registered",
    Metric.CONFIRMATION_SENT: "Confirmation sent",
    Metric.DELIVERED: "Delivered (every kind of SMS)",
    Metric.CONFIRMED: "Confirmed",
}


@dataclass(frozen=True)
class Ceilings:
    """Volumes that are normal up to a point: past it, an operator should look."""

    confirmations_per_hour: int  # confirmation SMS sent in one hour (SMS pumping, a bot)
    waf_blocks_per_5_minutes: int  # requests the web ACL blocked in five minutes
    send_queue_age_seconds: int  # how long the oldest transactional message has waited


@dataclass(frozen=True)
class SendQueues:
    transactional: sqs.IQueue
    broadcast: sqs.IQueue


def check_every_metric_is_graphed(graphs: Mapping[str, Mapping[Metric, str]]) -> None:
    graphed = [metric for members in graphs.values() for metric in members]
    missing = set(Metric) - set(graphed)
    if missing or len(graphed) != len(set(graphed)):
        raise ValueError(f"the dashboard must graph each metric once; missing {sorted(missing)}")


def service_metric(metric: Metric, label: str | None = None) -> cloudwatch.Metric:
    """A metric the functions emit with Powertools (EMF), dimension ``service``."""
    return cloudwatch.Metric(
        namespace=names.METRICS_NAMESPACE,
        metric_name=metric.value,
        dimensions_map={"service": names.SERVICE_NAME},
        statistic="Sum",
        period=PERIOD,
        label=label or metric.value,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_email: str,
        ceilings: Ceilings,
        web_acl_name: str,
        functions: dict[str, lambda_.IFunction],
        dead_letter_queues: Mapping[str, sqs.IQueue],
        send_queues: SendQueues,
        api: apigateway.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        check_every_metric_is_graphed(METRIC_GRAPHS)
        self.alarm_topic = sns.Topic(self, "AlarmTopic", enforce_ssl=True)
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        notify = actions.SnsAction(self.alarm_topic)

        def alarm(
            construct_id: str, metric: cloudwatch.IMetric, description: str, threshold: int = 1
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                alarm_description=description,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(notify)
            created.add_ok_action(notify)
            return created

        errors = {
            name: function.metric_errors(period=PERIOD, label=f"{name} errors")
            for name, function in functions.items()
        }
        dead_letters = {
            name: queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum", label=f"{name} dead letters"
            )
            for name, queue in dead_letter_queues.items()
        }
        queues = {"Transactional": send_queues.transactional, "Broadcast": send_queues.broadcast}
        queue_depth = [
            metric
            for name, queue in queues.items()
            for metric in (
                queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic="Maximum", label=f"{name}: waiting"
                ),
                queue.metric_approximate_number_of_messages_not_visible(
                    period=PERIOD, statistic="Maximum", label=f"{name}: in flight or deferred"
                ),
            )
        ]
        queue_age = {
            name: queue.metric_approximate_age_of_oldest_message(
                period=PERIOD, statistic="Maximum", label=f"{name}: oldest message (s)"
            )
            for name, queue in queues.items()
        }
        graphs = {
            title: [service_metric(metric, label) for metric, label in members.items()]
            for title, members in METRIC_GRAPHS.items()
        }
        server_errors = api.metric_server_error(period=PERIOD, label="API 5xx")
        confirmations_per_hour = service_metric(
            Metric.CONFIRMATION_SENT, "Confirmations sent per hour"
        ).with_(period=Duration.hours(1))
        waf_blocks = cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions_map={
                "WebACL": web_acl_name,
                "Region": Stack.of(self).region,
                "Rule": "ALL",
            },
            statistic="Sum",
            period=PERIOD,
            label="Requests blocked by the web ACL",
        )
        self.alarms = [
            *(
                alarm(f"{name}Errors", metric, f"The {name} function failed (see its logs).")
                for name, metric in errors.items()
            ),
            *(
                alarm(
                    f"{name}DeadLetters",
                    metric,
                    f"Messages failed every attempt and wait in the {name} dead-letter queue "
                    "(see the function's log, then redrive them).",
                )
                for name, metric in dead_letters.items()
            ),
            alarm(
                "SendQueueAge",
                queue_age["Transactional"],
                f"A transactional SMS has waited more than {ceilings.send_queue_age_seconds} "
                "seconds in the send queue: sign-ups outrun sendRatePerSecond, or the sender "
                "is failing (see its errors and the SendThrottled and SendQuotaExceeded "
                "metrics).",
                ceilings.send_queue_age_seconds,
            ),
            *(
                alarm(metric.value, service_metric(metric), description)
                for metric, description in METRIC_ALARMS.items()
            ),
            alarm("Api5xx", server_errors, "The API answered 5xx: a bug or an outage."),
            alarm(
                "ConfirmationVolume",
                confirmations_per_hour,
                f"More than {ceilings.confirmations_per_hour} confirmation SMS in an hour: a "
                "campaign, or SMS pumping through the form (check the sources and prefixes).",
                ceilings.confirmations_per_hour,
            ),
            alarm(
                "WafBlocks",
                waf_blocks,
                f"The web ACL blocked more than {ceilings.waf_blocks_per_5_minutes} requests "
                "in five minutes: an attack on the form (see the WAF logs).",
                ceilings.waf_blocks_per_5_minutes,
            ),
        ]

        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=Stack.of(self).stack_name,
            default_interval=Duration.days(1),
        )

        def graph(title: str, *metrics: cloudwatch.IMetric) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=8, height=6)

        dashboard.add_widgets(*(graph(title, *metrics) for title, metrics in graphs.items()))
        dashboard.add_widgets(
            graph(
                "Funnel: registered, sent, delivered, confirmed",
                *(service_metric(metric, label) for metric, label in FUNNEL.items()),
            ),
            graph("Send queues: messages", *queue_depth),
            graph("Send queues: age of the oldest message", *queue_age.values()),
        )
        dashboard.add_widgets(
            graph("Function errors", *errors.values()),
            graph("Dead-letter queue depth", *dead_letters.values()),
            graph("Web ACL", waf_blocks),
        )
        dashboard.add_widgets(
            graph(
                "API errors",
                api.metric_client_error(period=PERIOD, label="4xx"),
                server_errors,
            ),
            graph(
                "API latency",
                api.metric_latency(period=PERIOD, statistic="p50", label="p50"),
                api.metric_latency(period=PERIOD, statistic="p99", label="p99"),
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=8, height=6),
        )
