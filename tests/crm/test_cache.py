"""The Redis cache backend keeps one client per connection pool (crm/cache.py)."""

import os
import threading

import pytest


def test_one_client_serves_every_call(redis_cache):
    client = redis_cache._cache.get_client(write=True)
    assert redis_cache._cache.get_client("any key") is client
    # Django gives each thread a cache object of its own: one client each, kept.
    seen = []

    def other_thread():
        seen.extend([redis_cache._cache.get_client(), redis_cache._cache.get_client()])

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert seen[0] is seen[1]
    # And it behaves as Django's RedisCache: values round-trip, add() only adds.
    redis_cache.set("cache-test:value", {"a": [1, 2.5]}, timeout=30)
    assert redis_cache.get("cache-test:value") == {"a": [1, 2.5]}
    assert redis_cache.add("cache-test:value", "other") is False
    assert redis_cache.add("cache-test:new", 7, timeout=30) is True
    assert redis_cache.get_many(["cache-test:new", "cache-test:none"]) == {"cache-test:new": 7}
    redis_cache.delete_many(["cache-test:value", "cache-test:new"])
    assert redis_cache.get("cache-test:value") is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_gets_connections_of_its_own(redis_cache):
    # Celery's prefork pool forks after the parent may have used the cache.
    redis_cache.set("cache-test:fork", "parent", timeout=30)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: same client object, new connections (redis-py checks the pid)
        try:
            value = redis_cache.get("cache-test:fork")
            redis_cache.set("cache-test:fork", "child", timeout=30)
            os.write(write, str(value).encode())
        finally:
            os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    assert os.read(read, 100) == b"parent"
    assert status == 0
    assert redis_cache.get("cache-test:fork") == "child"
