import gc
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A first sync allocates and frees millions of small containers (rows, records, parameters):
# with Python's default first threshold (700) the collector ran ~2,350 times during the
# benchmark's first sync and took 1.4-1.6 s of the worker's 9-10 s of CPU (gc.callbacks, one
# process, 2026-12-06); at 10,000 it ran 28 times for 0.12 s. Only cyclic garbage waits
# longer; reference counting frees everything else at once.
WORKER_GC_THRESHOLDS = (10_000, 10, 10)


@worker_init.connect
def _worker_gc(**_kwargs) -> None:
    """In the worker's main process, before its pool processes are forked (they inherit both):
    what imports left is moved out of the collector's reach (`gc.freeze`: full collections
    no longer walk Django's and Celery's ~270,000 objects, and the forked children share those
    pages instead of copying them when a collection would touch them), and the collector runs
    less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)
