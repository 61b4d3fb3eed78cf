#!/usr/bin/env python3
"""CDK entry point: `make synth`, `make deploy`. Configuration is CDK context (cdk.json, -c)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The stack reuses the functions' own settings parser and table schema.
sys.path.insert(0, str(Path(__file__).resolve().parent / "lambdas"))

import aws_cdk as cdk

from infra.placeholders import DEPLOY_VARIABLE, ExampleBranding
from infra.stack import create_stack
from optin.configuration import SettingError


def main() -> None:
    app = cdk.App()
    try:
        create_stack(app, deploying=os.environ.get(DEPLOY_VARIABLE) == "1")
    except (SettingError, ExampleBranding) as error:
        sys.exit(f"Invalid configuration: {error}")
    app.synth()


if __name__ == "__main__":
    main()
