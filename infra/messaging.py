"""End User Messaging SMS resources, the two-way channel and the inbound function.

Phone number (requested here, or adopted) -> two-way channel -> SNS topic -> inbound
function, with bounded retries and a dead-letter queue. Sending goes through a
configuration set (delivery events to CloudWatch Logs, and to the delivery function's
topic: infra/sending.py) and a protect configuration that allows only the configured
countries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers
from aws_cdk import ArnFormat, Duration, IResolvable, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_smsvoice as smsvoice
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from infra import functions, names
from infra.config import AdoptedIdentity, DeployConfig, NewPhoneNumber
from infra.functions import FunctionFactory, OptInFunction, operational_log_group
from optin.domain.language.messages import Template

# Codes phonenumbers knows that are not ISO 3166-1 assignments; End User Messaging
# country rules take ISO codes only.
_NOT_ISO_3166 = frozenset({"AC", "TA", "XK"})
SMS_SDK = "@aws-sdk/client-pinpoint-sms-voice-v2"
# Every SMS event End User Messaging reports (queued, delivered, blocked, failed...).
DELIVERY_EVENT_TYPES = "TEXT_ALL"


def blocked_countries(allowed: tuple[str, ...]) -> list[str]:
    """Every destination country but the allowed ones: a new protect configuration
    allows all countries, so the others must be blocked one by one."""
    regions = set(phonenumbers.SUPPORTED_REGIONS) - _NOT_ISO_3166
    return sorted(regions - set(allowed))


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        settings = config.checked

        self.key = self._messages_key(config)
        self.inbound_topic = sns.Topic(self, "InboundTopic", enforce_ssl=True, master_key=self.key)
        self.inbound_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EndUserMessagingPublishesInboundSms",
                principals=[iam.ServicePrincipal(names.SMS_SERVICE_PRINCIPAL)],
                actions=["sns:Publish"],
                resources=[self.inbound_topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        topic_policy = self.inbound_topic.node.find_child("Policy")

        self.dead_letter_queue = sqs.Queue(
            self,
            "InboundDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )

        # Opt-outs are consent records: a list we create outlives the stack.
        if config.existing_opt_out_list:
            self.opt_out_list_name = config.existing_opt_out_list
            self.opt_out_list_arn = stack.format_arn(
                service="sms-voice", resource="opt-out-list", resource_name=self.opt_out_list_name
            )
        else:
            opt_out_list = smsvoice.CfnOptOutList(self, "OptOutList")
            opt_out_list.apply_removal_policy(RemovalPolicy.RETAIN)
            self.opt_out_list_name = opt_out_list.ref
            self.opt_out_list_arn = opt_out_list.attr_arn

        rules = [
            {"countryCode": code, "protectStatus": config.protect_mode}
            for code in settings.allowed_countries
        ]
        rules += [
            {"countryCode": code, "protectStatus": "BLOCK"}
            for code in blocked_countries(settings.allowed_countries)
        ]
        self.protect_configuration = smsvoice.CfnProtectConfiguration(
            self, "ProtectConfiguration", country_rule_set={"sms": rules}
        )

        self.delivery_events = operational_log_group(
            self, "DeliveryEvents", config.log_retention_days
        )
        delivery_events_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=self.delivery_events.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        events_role = iam.Role(
            self,
            "DeliveryEventsRole",
            assumed_by=iam.ServicePrincipal(
                names.SMS_SERVICE_PRINCIPAL,
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description="End User Messaging writes delivery events to their log group",
        )
        events_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[self.delivery_events.log_group_arn],
            )
        )
        self._event_destinations: list[
            IResolvable | smsvoice.CfnConfigurationSet.EventDestinationProperty
        ] = [
            smsvoice.CfnConfigurationSet.EventDestinationProperty(
                event_destination_name="DeliveryEvents",
                enabled=True,
                matching_event_types=[DELIVERY_EVENT_TYPES],
                cloud_watch_logs_destination=smsvoice.CfnConfigurationSet.CloudWatchLogsDestinationProperty(
                    iam_role_arn=events_role.role_arn, log_group_arn=delivery_events_arn
                ),
            )
        ]
        self.configuration_set = smsvoice.CfnConfigurationSet(
            self,
            "ConfigurationSet",
            protect_configuration_id=self.protect_configuration.attr_protect_configuration_id,
            event_destinations=self._event_destinations,
        )
        self.configuration_set.node.add_dependency(events_role)

        help_text = settings.texts.render(Template.HELP)
        stop_text = settings.texts.render(Template.STOP)
        origination = config.origination
        if isinstance(origination, NewPhoneNumber):
            number = self._request_number(origination, help_text, stop_text)
            number.node.add_dependency(topic_policy)
            self.origination_identity_arn = number.attr_arn
            self.origination_number = number.attr_phone_number
        else:
            self.origination_identity_arn = origination.arn or stack.format_arn(
                service="sms-voice",
                resource=origination.kind,
                resource_name=origination.resource_id,
            )
            self.origination_number = origination.number
            self._adopt(origination, help_text, stop_text, topic_policy)

    def _request_number(
        self, request: NewPhoneNumber, help_text: str, stop_text: str
    ) -> smsvoice.CfnPhoneNumber:
        """A new number with its two-way channel, HELP/STOP answers and opt-out list.
        Retained and protected from deletion: its registration is what takes weeks."""
        number = smsvoice.CfnPhoneNumber(
            self,
            "PhoneNumber",
            iso_country_code=request.country,
            number_type=request.number_type,
            number_capabilities=["SMS"],
            mandatory_keywords=smsvoice.CfnPhoneNumber.MandatoryKeywordsProperty(
                help=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(message=help_text),
                stop=smsvoice.CfnPhoneNumber.MandatoryKeywordProperty(message=stop_text),
            ),
            opt_out_list_name=self.opt_out_list_name,
            self_managed_opt_outs_enabled=False,
            two_way=smsvoice.CfnPhoneNumber.TwoWayProperty(
                enabled=True, channel_arn=self.inbound_topic.topic_arn
            ),
            deletion_protection_enabled=True,
        )
        number.apply_removal_policy(RemovalPolicy.RETAIN)
        return number

    def _adopt(
        self, identity: AdoptedIdentity, help_text: str, stop_text: str, topic_policy: IConstruct
    ) -> None:
        """Point an existing number or pool at our topic and opt-out list, and set its
        HELP/STOP answers. On stack deletion the two-way channel is switched off."""
        is_pool = identity.kind == "pool"
        update = "UpdatePool" if is_pool else "UpdatePhoneNumber"
        id_parameter = "PoolId" if is_pool else "PhoneNumberId"
        target = identity.arn or identity.resource_id
        policy = cr.AwsCustomResourcePolicy.from_statements(
            [
                iam.PolicyStatement(
                    actions=[f"sms-voice:{update}"],
                    resources=[self.origination_identity_arn, self.opt_out_list_arn],
                ),
                iam.PolicyStatement(
                    actions=["sms-voice:PutKeyword"], resources=[self.origination_identity_arn]
                ),
            ]
        )

        def call(action: str, parameters: Mapping[str, Any], physical_id: str) -> cr.AwsSdkCall:
            return cr.AwsSdkCall(
                service=SMS_SDK,
                action=action,
                parameters=dict(parameters),
                physical_resource_id=cr.PhysicalResourceId.of(physical_id),
            )

        channel_id = f"{identity.resource_id}/two-way"
        channel = cr.AwsCustomResource(
            self,
            "TwoWayChannel",
            on_update=call(
                update,
                {
                    id_parameter: target,
                    "TwoWayEnabled": True,
                    "TwoWayChannelArn": self.inbound_topic.topic_arn,
                    "SelfManagedOptOutsEnabled": False,
                    "OptOutListName": self.opt_out_list_name,
                },
                channel_id,
            ),
            on_delete=call(update, {id_parameter: target, "TwoWayEnabled": False}, channel_id),
            policy=policy,
            install_latest_aws_sdk=False,
        )
        channel.node.add_dependency(topic_policy)
        for keyword, message, action in (
            (names.HELP_KEYWORD, help_text, "AUTOMATIC_RESPONSE"),
            (names.STOP_KEYWORD, stop_text, "OPT_OUT"),
        ):
            parameters = {
                "OriginationIdentity": target,
                "Keyword": keyword,
                "KeywordMessage": message,
                "KeywordAction": action,
            }
            cr.AwsCustomResource(
                self,
                f"{keyword.title()}Keyword",
                on_update=call("PutKeyword", parameters, f"{identity.resource_id}/{keyword}"),
                policy=policy,
                install_latest_aws_sdk=False,
            )

    def _messages_key(self, config: DeployConfig) -> kms.Key:
        """The customer managed key of the message channels: the inbound topic (replies
        carry names and words people typed), the send queues (numbers and texts) and the delivery
        events topic. End User Messaging may use it only for this account's own SMS
        resources: the adopted number or pool exactly; for a requested number, this
        account's phone numbers (its ARN would make a cycle: number -> topic -> key); and
        this account's configuration sets, which publish the delivery events (the set's
        own ARN would make a cycle too: set -> delivery topic -> key)."""
        stack = Stack.of(self)
        origination = config.origination
        if isinstance(origination, AdoptedIdentity):
            source = origination.arn or stack.format_arn(
                service="sms-voice",
                resource=origination.kind,
                resource_name=origination.resource_id,
            )
        else:
            source = stack.format_arn(
                service="sms-voice", resource="phone-number", resource_name="*"
            )
        configuration_sets = stack.format_arn(
            service="sms-voice", resource="configuration-set", resource_name="*"
        )
        key = kms.Key(
            self,
            "MessagesKey",
            description="Encrypts the SMS message channels (replies, send queues, delivery events)",
            enable_key_rotation=True,
            # Nothing at rest needs it after the stack: the topics hold no messages and the
            # queues are deleted with it.
            removal_policy=RemovalPolicy.DESTROY,
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EndUserMessagingPublishesEncrypted",
                principals=[iam.ServicePrincipal(names.SMS_SERVICE_PRINCIPAL)],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": [source, configuration_sets]},
                },
            )
        )
        return key

    @property
    def send_resources(self) -> list[str]:
        """What SendTextMessage is authorised against: identity, configuration set, protection."""
        return [
            self.origination_identity_arn,
            self.configuration_set.attr_arn,
            self.protect_configuration.attr_arn,
        ]

    def send_events_to(self, topic: sns.ITopic) -> None:
        """Publish the configuration set's events to ``topic`` too (the topic's policy must
        let End User Messaging publish)."""
        self._event_destinations.append(
            smsvoice.CfnConfigurationSet.EventDestinationProperty(
                event_destination_name="DeliveryEventsTopic",
                enabled=True,
                matching_event_types=[DELIVERY_EVENT_TYPES],
                sns_destination=smsvoice.CfnConfigurationSet.SnsDestinationProperty(
                    topic_arn=topic.topic_arn
                ),
            )
        )
        self.configuration_set.event_destinations = self._event_destinations

    def grant_send(self, role: iam.IRole) -> None:
        """SendTextMessage: only the sender has it (infra/sending.py)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sms-voice:SendTextMessage"], resources=self.send_resources
            )
        )

    def grant_list_opted_out(self, role: iam.IRole) -> None:
        """PutOptedOutNumber on the stack's opt-out list, for the sender: it lists a number
        right after that number's opt-out confirmation leaves (the platform refuses to text
        a listed number, so the list has to wait for the confirmation)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sms-voice:PutOptedOutNumber"], resources=[self.opt_out_list_arn]
            )
        )

    def add_inbound_function(
        self, factory: FunctionFactory, environment: Mapping[str, str]
    ) -> OptInFunction:
        inbound = factory.create(
            self,
            functions.INBOUND,
            environment,
            retry_attempts=names.INBOUND_RETRY_ATTEMPTS,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
        )
        # Opting out lists the number (PutOptedOutNumber) when the platform did not, and
        # coming back takes it off (DeleteOptedOutNumber): only on the stack's own list.
        inbound.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sms-voice:DeleteOptedOutNumber", "sms-voice:PutOptedOutNumber"],
                resources=[self.opt_out_list_arn],
            )
        )
        inbound.subscribe(self.inbound_topic, "InboundTopic")
        return inbound
