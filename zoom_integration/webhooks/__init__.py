"""Zoom webhooks: verify, store once, answer fast; apply in a task through the same planner
as the pull sync (rule B4, DESIGN "How syncing runs")."""
