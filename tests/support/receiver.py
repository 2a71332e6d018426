"""A webhook receiver for tests: a threaded HTTP server on 127.0.0.1 that records every POST
(headers and raw body) and answers the statuses it is given, in order (then 200). It keeps
the *effects* apart from the *deliveries*: a delivery whose `Idempotency-Key` it has already
answered with a 2xx is counted but has no effect, as a careful receiver does.

`hold_first` makes the first delivery wait (after it is recorded) until `release()`: a test
kills the sender meanwhile."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Receiver:
    url: str = ""
    statuses: list[int] = field(default_factory=list)
    deliveries: list[dict] = field(default_factory=list)
    effects: list[dict] = field(default_factory=list)
    hold_first: bool = False
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self) -> None:
        self._release.set()

    def verify(self, delivery: dict, secret: str) -> bool:
        expected = (
            "sha256=" + hmac.new(secret.encode(), delivery["body"], hashlib.sha256).hexdigest()
        )
        return hmac.compare_digest(expected, delivery["headers"].get("X-CRM-Signature", ""))


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver._lock:
                delivery = {"headers": dict(self.headers), "body": body, "path": self.path}
                receiver.deliveries.append(delivery)
                first = len(receiver.deliveries) == 1
                status = receiver.statuses.pop(0) if receiver.statuses else 200
            if first and receiver.hold_first:
                receiver._release.wait(60)
            key = delivery["headers"].get("Idempotency-Key")
            with receiver._lock:
                done = {e["headers"].get("Idempotency-Key") for e in receiver.effects}
                if 200 <= status < 300 and key not in done:
                    receiver.effects.append(delivery)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


@contextlib.contextmanager
def webhook_receiver(**kwargs) -> Iterator[Receiver]:
    receiver = Receiver(**kwargs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release()
        server.shutdown()
        server.server_close()
