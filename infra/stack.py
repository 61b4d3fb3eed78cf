"""The one stack: composes data, messaging, sending, api, site and monitoring."""

from __future__ import annotations

from aws_cdk import App, CfnOutput, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from infra import names
from infra.admin import Admin
from infra.api import Api
from infra.config import DeployConfig, load
from infra.data import Data
from infra.functions import FunctionFactory
from infra.messaging import Messaging
from infra.monitoring import Ceilings, Monitoring, SendQueues
from infra.nag import acknowledge_findings
from infra.placeholders import guard
from infra.protection import Protection
from infra.sending import Sending
from infra.site import Site
from optin.formconfig import form_config


class OptInStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeployConfig, deploying: bool = False
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="SMS double opt-in: web form, reply YES, consent ledger, STOP honoured",
        )
        self.config = config
        guard(self, config.checked, deploying=deploying)
        factory = FunctionFactory(
            self,
            powertools_version=config.powertools_version,
            log_retention_days=config.log_retention_days,
            log_level=config.log_level,
            snap_start=config.snap_start,
        )
        self.data = Data(self, "Data")
        self.admin = Admin(self, "Admin")
        self.messaging = Messaging(self, "Messaging", config=config)
        self.sending = Sending(
            self,
            "Sending",
            key=self.messaging.key,
            configuration_set_arn=self.messaging.configuration_set.attr_arn,
            sender_max_concurrency=config.sender_max_concurrency,
        )
        self.messaging.send_events_to(self.sending.delivery_events_topic)
        self.api = Api(self, "Api", config=config)
        self.site = Site(
            self, "Site", api_origin=self.api.origin, waf_sdk=config.bot_challenge != "none"
        )
        self.protection = Protection(
            self,
            "Protection",
            stage_arn=self.api.rest_api.deployment_stage.stage_arn,
            registrations_per_ip=config.registrations_per_ip_per_5_minutes,
            log_retention_days=config.log_retention_days,
            bot_challenge=config.bot_challenge,
            form_domain=self.site.domain,
        )

        protection = self.messaging.protect_configuration
        stack_values = {
            "TABLE_NAME": self.data.table.table_name,
            "ORIGINATION_IDENTITY": self.messaging.origination_identity_arn,
            "ORIGINATION_NUMBER": self.messaging.origination_number,
            "CONFIGURATION_SET_NAME": self.messaging.configuration_set.ref,
            "PROTECT_CONFIGURATION_ID": protection.attr_protect_configuration_id,
            "OPT_OUT_LIST_NAME": self.messaging.opt_out_list_name,
            **self.sending.stack_values,
        }
        environment = config.function_environment(stack_values, self.site.origin)
        self.registration = self.api.add_registration(
            factory, {**environment, **self.admin.key_environment}, site_origin=self.site.origin
        )
        self.inbound = self.messaging.add_inbound_function(factory, environment)
        self.sender = self.sending.add_sender(factory, environment)
        self.delivery = self.sending.add_delivery(factory, environment)
        for function in (self.registration, self.inbound, self.sender, self.delivery):
            self.data.grant_subscriber_access(function.role)
        for function in (self.registration, self.inbound):
            self.sending.grant_enqueue(function.role)
        self.messaging.grant_send(self.sender.role)
        # The sender runs the broadcasts' planner: it lists confirmed subscribers and queues.
        self.data.grant_confirmed_listing(self.sender.role)
        self.sending.grant_plan(self.sender.role)
        self.messaging.grant_list_opted_out(self.sender.role)
        # A registration of a number without a profile checks whether it was erased.
        self.admin.grant_key(self.registration.role)
        self.admin.add_functions(
            factory,
            environment,
            api=self.api,
            table=self.data.table,
            opt_out_list_arn=self.messaging.opt_out_list_arn,
        )
        self.sending.grant_plan(self.admin.function.role)  # a new broadcast's first step

        self.site.deploy(
            {
                **form_config(config.settings(stack_values), self.api.url),
                "botChallenge": config.bot_challenge,
                "wafIntegrationUrl": self.protection.integration_url,
                "wafCaptchaApiKey": self.protection.captcha_api_key,
            }
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            alarm_email=config.alarm_email,
            ceilings=Ceilings(
                confirmations_per_hour=config.alarm_confirmations_per_hour,
                waf_blocks_per_5_minutes=config.alarm_waf_blocks_per_5_minutes,
                send_queue_age_seconds=config.alarm_send_queue_age_seconds,
            ),
            web_acl_name=self.protection.web_acl_name,
            functions={
                "Registration": self.registration.function,
                "Inbound": self.inbound.function,
                "Sender": self.sender.function,
                "Delivery": self.delivery.function,
                "Admin": self.admin.function.function,
                "Housekeeping": self.admin.housekeeping.function,
            },
            dead_letter_queues={
                "Inbound": self.messaging.dead_letter_queue,
                **self.sending.dead_letter_queues,
            },
            send_queues=SendQueues(
                transactional=self.sending.transactional.queue,
                broadcast=self.sending.broadcast.queue,
            ),
            api=self.api.rest_api,
        )

        for output_id, value, description in (
            (names.OUTPUT_FORM_URL, self.site.url, "The web form"),
            (names.OUTPUT_API_URL, self.api.url, "The API's base URL (stage v1)"),
            (names.OUTPUT_TABLE_NAME, self.data.table.table_name, "Subscribers and consent ledger"),
            (
                names.OUTPUT_INBOUND_TOPIC_ARN,
                self.messaging.inbound_topic.topic_arn,
                "Two-way SMS channel",
            ),
            (
                names.OUTPUT_ORIGINATION_IDENTITY,
                self.messaging.origination_identity_arn,
                "The phone number or pool that sends",
            ),
            (
                names.OUTPUT_ADMIN_API_URL,
                self.api.admin_url,
                "The operator API: optin --api <this URL> (SigV4)",
            ),
            (
                names.OUTPUT_OPERATOR_POLICY_ARN,
                self.admin.operator_policy.managed_policy_arn,
                "Attach to the operators' role or group to let them call the operator API",
            ),
        ):
            CfnOutput(self, output_id, value=value, description=description)
        acknowledge_findings(self)


def create_stack(app: App, *, deploying: bool = False) -> OptInStack:
    """Read the configuration from the app's context and build the stack, checked by cdk-nag.
    ``deploying``: the synthesis is for a deployment (``make deploy``), so example branding
    is refused at once instead of by the template."""
    config = load(app.node.try_get_context)
    stack = OptInStack(app, config.stack_name, config=config, deploying=deploying)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return stack
