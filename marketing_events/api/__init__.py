"""The CRM's own REST API for marketing events (mounted at /api/v1/marketing-events/)."""
