"""Zoom pages fetched ahead in a thread (zoom_integration.sync.prefetch): order, bounded
look-ahead, errors where they happened, token renewal in the consuming thread, closing."""

import threading
import time

import pytest

from zoom_integration.sync.prefetch import FetchThreads, InlinePages, PrefetchedPages


class FakeTokens:
    """The consuming thread's token source: renewing it (which, for real, writes the
    connection row) must happen in that thread only."""

    def __init__(self):
        self.token = "token-0"
        self.renewed_in = []

    def access_token(self) -> str:
        return self.token

    def invalidate(self) -> None:
        self.renewed_in.append(threading.current_thread())
        self.token = f"token-{len(self.renewed_in)}"


class FakeSession:
    closed = False

    def close(self):
        self.closed = True


class FakeClient:
    def __init__(self, tokens=None):
        self.tokens = tokens or FakeTokens()
        self.session = FakeSession()
        self.thread_clients = []

    def for_thread(self, tokens, session=None):
        client = FakeClient(tokens)
        client.session = session or client.session
        self.thread_clients.append(client)
        return client


def test_items_come_out_in_order_fetched_by_another_thread():
    threads = set()

    def produce(client):
        for n in range(20):
            threads.add(threading.current_thread())
            yield n

    main = FakeClient()
    assert list(PrefetchedPages(produce, client=main, depth=3)) == list(range(20))
    assert threading.current_thread() not in threads
    assert main.thread_clients[0].session.closed


def test_the_thread_runs_at_most_depth_items_ahead():
    produced = []

    def produce(client):
        for n in range(50):
            produced.append(n)
            yield n

    pages = PrefetchedPages(produce, client=FakeClient(), depth=4)
    iterator = iter(pages)
    assert next(iterator) == 0
    time.sleep(0.3)
    # 1 consumed + 4 queued + 1 waiting for room.
    assert len(produced) <= 6
    assert list(iterator) == list(range(1, 50))


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    class Boom(Exception):
        pass

    def produce(client):
        yield "page 1"
        yield "page 2"
        raise Boom("Zoom said no")

    got = []
    with pytest.raises(Boom, match="Zoom said no"):
        for item in PrefetchedPages(produce, client=FakeClient(), depth=6):
            got.append(item)
    assert got == ["page 1", "page 2"]


def test_a_refused_token_is_renewed_by_the_consuming_thread():
    seen = []

    def produce(client):
        seen.append(client.tokens.access_token())
        yield "page 1"
        client.tokens.invalidate()  # what ZoomClient does on 401 code 124
        seen.append(client.tokens.access_token())
        yield "page 2"

    main = FakeClient()
    assert list(PrefetchedPages(produce, client=main, depth=2)) == ["page 1", "page 2"]
    assert seen == ["token-0", "token-1"]
    assert main.tokens.renewed_in == [threading.current_thread()]


def test_a_token_renewed_meanwhile_is_handed_over_without_renewing_again():
    def produce(client):
        client.tokens.access_token()
        client.tokens.invalidate()
        yield client.tokens.access_token()

    main = FakeClient()
    pages = PrefetchedPages(produce, client=main, depth=2)
    main.tokens.token = "token-other-worker"  # renewed since the thread borrowed token-0
    assert list(pages) == ["token-other-worker"]
    assert main.tokens.renewed_in == []


def test_closing_stops_the_thread_at_its_next_request():
    def produce(client):
        n = 0
        while True:
            client.tokens.access_token()  # every request asks for the token
            yield n
            n += 1

    pages = PrefetchedPages(produce, client=FakeClient(), depth=2)
    iterator = iter(pages)
    assert [next(iterator), next(iterator)] == [0, 1]
    pages.close(timeout=5)
    assert pages._done.is_set()


def test_a_consumer_waiting_for_a_page_returns_when_another_thread_closes_the_listing():
    # A thread that joined the listing (sync.streams) waits for its next page when the
    # webinar's owner gives up and closes it: the fetch puts nothing more, the wait ends.
    def produce(client):
        yield 0
        while True:
            client.tokens.access_token()
            time.sleep(0.01)  # Zoom is slow

    pages = PrefetchedPages(produce, client=FakeClient(), depth=2)
    iterator = iter(pages)
    assert next(iterator) == 0
    rest = []
    waiting = threading.Thread(target=lambda: rest.extend(iterator))
    waiting.start()
    time.sleep(0.05)
    pages.close(timeout=5)
    waiting.join(5)
    assert not waiting.is_alive()
    assert rest == []


def test_inline_pages_run_in_the_consuming_thread():
    threads = []

    def produce(client):
        threads.append(threading.current_thread())
        yield 1

    assert list(InlinePages(produce, client=FakeClient())) == [1]
    assert threads == [threading.current_thread()]


def test_listings_share_fewer_threads_than_they_are_and_keep_their_sessions():
    threads = FetchThreads(workers=2)
    seen = []

    def listing(name):
        def produce(client):
            seen.append((name, threading.current_thread(), client.session))
            for n in range(10):
                yield f"{name}-{n}"

        return produce

    main = FakeClient()
    try:
        streams = [
            PrefetchedPages(listing(name), client=main, depth=2, threads=threads) for name in "abcd"
        ]
        for name, pages in zip("abcd", streams, strict=True):
            assert list(pages) == [f"{name}-{n}" for n in range(10)]
    finally:
        threads.shutdown()
    assert len({thread for _name, thread, _session in seen}) <= 2
    sessions = {thread: session for _name, thread, session in seen}
    assert all(session is sessions[thread] for _name, thread, session in seen)
