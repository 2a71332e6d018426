"""`PageStream`: a listing applied by its owner thread and by idle threads that join it."""

import threading
import time

import pytest

from zoom_integration.sync.streams import END, PageStream, StreamFailed


def test_pages_are_prepared_in_order_and_applied_by_every_thread_that_runs_it():
    prepared, applied = [], []
    lock = threading.Lock()
    started = threading.Barrier(3)

    def prepare(item):
        prepared.append(item)  # under the stream's lock: in listing order
        return None if item == "marker" else item

    def apply(page):
        time.sleep(0.005)
        with lock:
            applied.append((page, threading.current_thread().name))

    stream = PageStream(["marker", *range(30), "marker"], prepare=prepare, apply=apply)

    def run():
        started.wait()
        stream.run()

    threads = [threading.Thread(target=run, name=f"t{n}") for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stream.wait_applied()
    assert prepared == ["marker", *range(30), "marker"]
    assert sorted(page for page, _name in applied) == list(range(30))  # each once, no marker
    assert {name for _page, name in applied} == {"t0", "t1", "t2"}
    assert stream.ended


def test_prepare_can_end_the_listing_early():
    stream = PageStream([1, 2, 3], prepare=lambda i: END if i == 2 else i, apply=lambda p: None)
    stream.run()
    assert stream.ended
    assert stream._take() is END  # the rest is never read


def test_the_owner_waits_for_pages_a_joiner_is_still_applying():
    release = threading.Event()
    done = []

    def apply(page):
        if threading.current_thread().name == "joiner":
            release.wait(5)
        done.append(page)

    stream = PageStream([1, 2], prepare=lambda i: i, apply=apply)
    joiner = threading.Thread(target=stream.run, name="joiner")
    joiner.start()
    time.sleep(0.05)  # the joiner took page 1 and waits
    stream.run()  # the owner applies page 2; the listing ends
    waited = threading.Thread(target=stream.wait_applied)
    waited.start()
    waited.join(0.1)
    assert waited.is_alive()  # page 1 not applied yet
    release.set()
    waited.join(5)
    joiner.join(5)
    assert sorted(done) == [1, 2]


def test_a_page_a_joiner_failed_to_apply_fails_the_owner_too():
    def apply(page):
        if threading.current_thread().name == "joiner":
            raise RuntimeError("page not applied")
        time.sleep(0.01)

    stream = PageStream(range(20), prepare=lambda i: i, apply=apply)
    errors = []

    def join():
        try:
            stream.run()
        except RuntimeError as exc:
            errors.append(exc)

    joiner = threading.Thread(target=join, name="joiner")
    joiner.start()
    stream.run()  # stops taking pages once the joiner failed
    joiner.join(5)
    assert [str(e) for e in errors] == ["page not applied"]
    with pytest.raises(StreamFailed):
        stream.wait_applied()


def test_an_error_reading_the_listing_reaches_every_thread():
    def listing():
        yield 1
        raise ConnectionError("Zoom went away")

    stream = PageStream(listing(), prepare=lambda i: i, apply=lambda p: None)
    with pytest.raises(ConnectionError):
        stream.run()
    with pytest.raises(ConnectionError):  # a thread joining later meets it too
        stream.run()
