"""A dashboard of the opt-in funnel and the failure signals, and alarms to one topic."""

from __future__ import annotations

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

PERIOD = Duration.minutes(5)


def service_metric(metric_name: str, label: str | None = None) -> cloudwatch.Metric:
    """A metric the functions emit with Powertools (EMF), dimension ``service``."""
    return cloudwatch.Metric(
        namespace=names.METRICS_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"service": names.SERVICE_NAME},
        statistic="Sum",
        period=PERIOD,
        label=label or metric_name,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarm_email: str,
        functions: dict[str, lambda_.IFunction],
        dead_letter_queue: sqs.IQueue,
        api: apigateway.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarm_topic = sns.Topic(self, "AlarmTopic", enforce_ssl=True)
        if alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        notify = actions.SnsAction(self.alarm_topic)

        def alarm(
            construct_id: str, metric: cloudwatch.IMetric, description: str
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                alarm_description=description,
                threshold=1,
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
        dead_letters = dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=PERIOD, statistic="Maximum", label="Dead-letter messages"
        )
        sms_failures = service_metric(names.METRIC_SMS_SEND_FAILED, "SMS send failures")
        server_errors = api.metric_server_error(period=PERIOD, label="API 5xx")
        self.alarms = [
            *(
                alarm(f"{name}Errors", metric, f"The {name} function failed (see its logs).")
                for name, metric in errors.items()
            ),
            alarm(
                "DeadLetters",
                dead_letters,
                "Inbound messages failed after retries and wait in the dead-letter queue.",
            ),
            alarm("SmsSendFailures", sms_failures, "End User Messaging refused or failed a send."),
            alarm("Api5xx", server_errors, "The API answered 5xx: a bug or an outage."),
        ]

        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=Stack.of(self).stack_name,
            default_interval=Duration.days(1),
        )

        def graph(title: str, *metrics: cloudwatch.IMetric) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=list(metrics), width=8, height=6)

        dashboard.add_widgets(
            graph(
                "Registrations",
                service_metric(names.METRIC_REGISTRATION_ACCEPTED, "Accepted"),
                service_metric(names.METRIC_REGISTRATION_REJECTED, "Rejected"),
            ),
            graph(
                "Confirmations",
                service_metric(names.METRIC_CONFIRMATION_SENT, "Confirmation SMS sent"),
                service_metric(names.METRIC_CONFIRMED, "Confirmed"),
            ),
            graph(
                "Opt-outs and expiries",
                service_metric(names.METRIC_OPTED_OUT, "Opted out"),
                service_metric(names.METRIC_EXPIRED, "Expired"),
            ),
        )
        dashboard.add_widgets(
            graph(
                "SMS and inbound problems",
                sms_failures,
                service_metric(names.METRIC_UNMATCHED_REPLY, "Unmatched replies"),
                service_metric(names.METRIC_MALFORMED_INBOUND, "Malformed inbound"),
            ),
            graph("Function errors", *errors.values()),
            graph("Dead-letter queue depth", dead_letters),
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
