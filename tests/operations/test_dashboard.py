"""The Grafana dashboard (deploy/grafana/zoomcrm-dashboard.json, issue 22): valid JSON, a panel
for each family of /metrics, and every series it queries exists on /metrics."""

import json
import re
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "zoomcrm-dashboard.json"
# A series name in PromQL: our prefix, then up to the next non-name character.
SERIES = re.compile(r"\bzoomcrm_[a-z_]+")


def queried_series() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    return {name for expr in exprs for name in SERIES.findall(expr)}


@pytest.mark.django_db
def test_every_series_the_dashboard_queries_is_on_metrics(client, settings):
    settings.METRICS_TOKEN = "t"
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    families = list(text_string_to_metric_families(text))
    exposed = {sample.name for family in families for sample in family.samples}
    exposed |= {family.name for family in families}  # gauges with no sample yet
    queried = queried_series()
    assert queried - exposed == set()
    # ... and every family of /metrics has a panel.
    assert {f.name for f in families} - {
        re.sub(r"_(total|bucket|count|sum)$", "", name) for name in queried
    } == set()


def test_the_dashboard_is_importable():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "zoomcrm-operations"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) == 12
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
