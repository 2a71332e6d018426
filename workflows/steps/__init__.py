"""The step types workflows bring themselves (rule W9), registered into the action registry
like any integration's: `delay`, `branch`, `set_property`, `segment.add`, `segment.remove`,
`notify`, `webhook`."""

from ..actions import register_action
from . import branch, delay, notify, properties, segments, webhook


def register() -> None:
    for module in (delay, branch, properties, segments, notify, webhook):
        for action_type in module.action_types():
            register_action(action_type)
