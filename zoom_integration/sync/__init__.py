"""The webinar sync: fetch pages from Zoom → a pure planner turns records + a CRM snapshot +
the settings into a plan → one transaction per page applies it (DESIGN "How syncing runs")."""
