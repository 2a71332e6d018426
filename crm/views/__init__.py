"""The server-rendered UI (Django templates + HTMX). Views only call services and selectors."""
