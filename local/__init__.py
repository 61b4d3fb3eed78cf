"""Local mode: the real form and handlers on one machine, with DynamoDB emulated in
process and a phone simulator in place of SMS. docs/local-mode.md describes it."""
