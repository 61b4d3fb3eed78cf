"""The CDK app: one stack composed of one construct per concern (SPEC sections 6 and 7)."""
