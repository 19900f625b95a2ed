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
        t = threading.Thread(target=lambda: self.ns.wait("w", 0, timeout=5))
        t.start()
        time.sleep(0.01)
        n = 0
        while n < 100000:  # runs only if the waiting thread let go of the GIL
            n += 1
        self.assertTrue(t.is_alive())  # ... while it was still waiting
        self.ns["w"] = b"go"
        t.join(30)
        self.assertFalse(t.is_alive())

    def test_close_while_another_thread_waits(self):
        # close() may come before the waiter is inside wait() (then it gets
        # ValueError): try until it came while it waited.
        for attempt in range(10):
            name = "%s.%d" % (self.name, attempt)
            ns = mmf.Namespace(name)
            result, started = [], threading.Event()

            def waiter():
                started.set()
                try:
                    result.append(ns.wait("w", 0, timeout=None))
                except ValueError:
                    result.append("closed first")

            t = threading.Thread(target=waiter)
            t.start()
            started.wait(30)
            time.sleep(0.1)
            ns.close()  # the waiter keeps its handle until it returns
            with mmf.Namespace(name, reuse=True) as other:
                other["w"] = b"wake"
            t.join(30)
            mmf.unlink(name)
            self.assertFalse(t.is_alive())
            if result == [True]:
                return
            self.assertEqual(result, ["closed first"])
        self.fail("close() never came while the other thread waited")

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
