"""The kfp-isolation conformance suite: targets, provisioning, reports and the CLI."""
