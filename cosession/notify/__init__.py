"""Notifications while away (SPEC 18): triggers, quiet window + digest, webhook and Web Push."""
