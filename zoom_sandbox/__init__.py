"""A stand-alone fake Zoom server for the demo, the tests and the benchmarks.

Start it with ``python -m zoom_sandbox``; the contract is ``reference/zoom-sandbox.md`` and the
control-surface extensions are in ``zoom_sandbox/README.md``. It imports nothing from the CRM.
"""
