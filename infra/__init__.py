"""The CDK app: one stack, one construct per concern (docs/deploy.md, docs/configuration.md)."""
