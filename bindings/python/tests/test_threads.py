"""Threads sharing one Namespace: exact counters, the GIL released while
waiting, close() racing with calls in other threads."""
import threading
import time
import unittest

import mmf
from support import NamespaceCase


class Threads(NamespaceCase):
    def test_adds_from_threads_are_exact(self):
        def work():
            for _ in range(2000):
                self.ns.add("n", 1)
                self.ns["t%d" % threading.get_ident()] = b"x" * 100

        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(self.ns.add("n", 0), 8000)

    def test_wait_releases_the_gil(self):
        ticks = []

        def waiter():
            self.ns.wait("w", 0, timeout=30)

        t = threading.Thread(target=waiter)
        t.start()
        n, end = 0, time.monotonic() + 0.2
        while time.monotonic() < end:  # this thread runs while the other sleeps in wait
            n += 1
        ticks.append(n)
        self.ns["w"] = b"go"
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertGreater(ticks[0], 1000)

    def test_close_while_another_thread_waits(self):
        result = []
        started = threading.Event()

        def waiter():
            started.set()
            result.append(self.ns.wait("w", 0, timeout=None))

        t = threading.Thread(target=waiter)
        t.start()
        started.wait(30)
        time.sleep(0.05)
        self.ns.close()  # the waiter keeps its handle until it returns
        with mmf.Namespace(self.name, reuse=True) as other:
            other["w"] = b"wake"
        t.join(30)
        self.assertFalse(t.is_alive())
        self.assertEqual(result, [True])

    def test_close_racing_with_calls(self):
        errors = []
        stop = threading.Event()

        def worker(i):
            k = "k%d" % i
            while not stop.is_set():
                try:
                    self.ns[k] = b"v" * (i * 40)
                    self.ns.get(k)
                    self.ns.add("n%d" % i, 1)
                    self.ns.version(k)
                    list(self.ns)
                except ValueError:  # closed: the only error allowed
                    return
                except Exception as e:
                    errors.append(e)
                    return

        ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        time.sleep(0.2)
        self.ns.close()
        stop.set()
        for t in ts:
            t.join(30)
        self.assertEqual(errors, [])

    def test_lock_shared_between_threads(self):
        order = []

        def writer():
            self.ns["x"] = b"from thread"  # waits for the lock held below
            order.append("thread wrote")

        with self.ns.lock():
            t = threading.Thread(target=writer)
            t.start()
            time.sleep(0.2)
            order.append("lock released")
        t.join(30)
        self.assertEqual(order, ["lock released", "thread wrote"])
        self.assertEqual(self.ns["x"], b"from thread")


if __name__ == "__main__":
    unittest.main()
