"""Every name the stack, the dashboards and the tests agree on, in one place."""

from __future__ import annotations

from pathlib import Path

from optin.domain.language.keywords import PLATFORM_HELP_KEYWORDS, PLATFORM_OPT_OUT_KEYWORDS

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = REPO_ROOT / "lambdas"
FUNCTION_PACKAGE = "optin"
FUNCTION_REQUIREMENTS = LAMBDAS_DIR / "requirements.txt"
WEB_DIR = REPO_ROOT / "web"
OPENAPI_DOCUMENT = REPO_ROOT / "docs" / "openapi.yaml"
DEV_REQUIREMENTS = REPO_ROOT / "requirements.txt"

DEFAULT_STACK_NAME = "SmsOptIn"

# Functions.
REGISTRATION_HANDLER = "optin.handlers.registration.handler"
INBOUND_HANDLER = "optin.handlers.inbound.handler"
ADMIN_HANDLER = "optin.handlers.admin.handler"
HOUSEKEEPING_HANDLER = "optin.handlers.housekeeping.handler"
PYTHON_VERSION = "3.14"
# Public SSM parameters the Powertools team publishes for each layer release.
POWERTOOLS_LAYER_PARAMETER = "/aws/service/powertools/python/arm64/python{python}/{version}"

# Observability: the functions' metric names are ``optin.observability.Metric``.
SERVICE_NAME = "sms-optin"
METRICS_NAMESPACE = "SmsOptIn"

# API (docs/api.md).
API_STAGE = "v1"
REGISTER_PATH = "register"

# The operator API (docs/operator.md): its methods, under /admin, each IAM-authorised and
# each granted by the OperatorAccess managed policy. Local mode serves the same paths.
ADMIN_PATH = "admin"
ADMIN_ROUTES = (
    ("GET", "subscribers"),
    ("GET", "subscribers/{phoneNumber}"),
    ("DELETE", "subscribers/{phoneNumber}"),
    ("POST", "subscribers/{phoneNumber}/opt-out"),
    ("GET", "segments"),
    ("GET", "export"),
    ("POST", "broadcasts"),
    ("GET", "broadcasts/{broadcastId}"),
    ("DELETE", "broadcasts/{broadcastId}"),
)
OPERATOR_POLICY = "OperatorAccess"
HOUSEKEEPING_EVERY_HOURS = 1

# Inbound function: bounded retries before the message goes to the dead-letter queue.
INBOUND_RETRY_ATTEMPTS = 2

# Sending (infra/sending.py): the sender drains the send queues, the delivery function
# reads the configuration set's delivery events.
SENDER_HANDLER = "optin.handlers.sender.handler"
DELIVERY_HANDLER = "optin.handlers.delivery.handler"

# SMS: the platform answers these mandatory keywords itself (the functions know them too).
HELP_KEYWORD = PLATFORM_HELP_KEYWORDS[0]
STOP_KEYWORD = PLATFORM_OPT_OUT_KEYWORDS[0]
SMS_SERVICE_PRINCIPAL = "sms-voice.amazonaws.com"
NUMBER_TYPES = ("SIMULATOR", "TOLL_FREE", "TEN_DLC", "LONG_CODE")

# CloudFormation outputs: stable logical ids that scripts and docs rely on.
OUTPUT_FORM_URL = "FormUrl"
OUTPUT_API_URL = "ApiUrl"
OUTPUT_TABLE_NAME = "TableName"
OUTPUT_INBOUND_TOPIC_ARN = "InboundTopicArn"
OUTPUT_ORIGINATION_IDENTITY = "OriginationIdentity"
OUTPUT_ADMIN_API_URL = "AdminApiUrl"
OUTPUT_OPERATOR_POLICY_ARN = "OperatorAccessPolicyArn"
