"""Engagement (DESIGN "Engagement and attribution", rules E6-E8): poll, Q&A and survey answers
per occurrence, recording viewers, and an explainable engagement score per participation.

Its own Django app (label `zoom_engagement`) inside the Zoom integration: its facts live in
tables of their own keyed to participations and occurrences, and its migrations beside them."""
