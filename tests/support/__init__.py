"""Helpers shared by test packages (the sandbox starter is reused by CRM integration tests)."""
