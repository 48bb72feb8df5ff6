"""The embedded local stack: moto, provisioning from infra/, the dev clock, schedules, streams."""
