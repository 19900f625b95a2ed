"""Across processes: values, wait woken by another process, exact counters
from 4 processes, the lock holding off another process's write, a forked
child using its parent's Namespace, multiprocessing with spawn."""
import multiprocessing
import os
import time
import unittest

import mmf
from support import NamespaceCase

SPAWN = multiprocessing.get_context("spawn")
FORK = multiprocessing.get_context("fork")


# ---- what the children run (top level, so that spawn finds them) ----------

def child_set(name, key, value):
    with mmf.Namespace(name, reuse=True) as ns:
        ns[key] = value


def child_read(name, key, queue):
    with mmf.Namespace(name, reuse=True) as ns:
        queue.put(ns[key])


def child_adds(name, n):
    with mmf.Namespace(name, reuse=True) as ns:
        for _ in range(n):
            ns.add("counter", 1)


def child_set_later(name, key, value, delay):
    with mmf.Namespace(name, reuse=True) as ns:
        time.sleep(delay)
        ns[key] = value


def child_write_under_lock(name, about_to_write, wrote):
    with mmf.Namespace(name, reuse=True) as ns:
        about_to_write.set()
        ns["x"] = b"child"  # waits while the parent holds the lock
        wrote.set()


def child_write_with_timeout(name, queue):
    with mmf.Namespace(name, reuse=True, timeout=0.2) as ns:
        try:
            ns["x"] = b"child"
            queue.put("wrote")
        except mmf.Timeout:
            queue.put("timeout")


def run_child(ctx, target, *args):
    p = ctx.Process(target=target, args=args)
    p.start()
    p.join(60)
    return p.exitcode


class Processes(NamespaceCase):
    def test_value_set_in_one_process_is_read_in_another(self):
        for ctx in (SPAWN, FORK):
            self.assertEqual(run_child(ctx, child_set, self.name, "b", b"\x00bytes"), 0)
            self.assertEqual(run_child(ctx, child_set, self.name, "t", "text é"), 0)
            self.assertEqual(run_child(ctx, child_set, self.name, "o", {"a": [1, 2]}), 0)
            self.assertEqual(self.ns["b"], b"\x00bytes")
            self.assertEqual(self.ns["t"], "text é")
            self.assertEqual(self.ns["o"], {"a": [1, 2]})
        self.ns["from.parent"] = ["list", 1]
        q = SPAWN.Queue()
        self.assertEqual(run_child(SPAWN, child_read, self.name, "from.parent", q), 0)
        self.assertEqual(q.get(timeout=30), ["list", 1])

    def test_wait_woken_by_another_process(self):
        self.ns["w"] = b"before"
        v = self.ns.version("w")
        p = SPAWN.Process(target=child_set_later, args=(self.name, "w", b"after", 0.3))
        p.start()
        try:
            self.assertTrue(self.ns.wait("w", v, timeout=60))  # a bound that only proves no hang
            self.assertEqual(self.ns["w"], b"after")
        finally:
            p.join(60)
        self.assertEqual(p.exitcode, 0)

    def test_four_processes_add_exactly(self):
        ps = [SPAWN.Process(target=child_adds, args=(self.name, 2000)) for _ in range(4)]
        for p in ps:
            p.start()
        for p in ps:
            p.join(120)
            self.assertEqual(p.exitcode, 0)
        self.assertEqual(self.ns.add("counter", 0), 8000)

    def test_lock_holds_off_another_process_write(self):
        self.ns["x"] = b"parent"
        about, wrote = SPAWN.Event(), SPAWN.Event()
        p = SPAWN.Process(target=child_write_under_lock, args=(self.name, about, wrote))
        with self.ns.lock():
            p.start()
            self.assertTrue(about.wait(60))
            self.assertFalse(wrote.wait(0.5))  # the child is held off ...
            self.assertEqual(self.ns["x"], b"parent")
        self.assertTrue(wrote.wait(60))  # ... until the lock is given back
        p.join(60)
        self.assertEqual(p.exitcode, 0)
        self.assertEqual(self.ns["x"], b"child")

    def test_write_times_out_while_another_process_holds_the_lock(self):
        q = SPAWN.Queue()
        with self.ns.lock():
            self.assertEqual(run_child(SPAWN, child_write_with_timeout, self.name, q), 0)
        self.assertEqual(q.get(timeout=30), "timeout")
        self.assertNotIn("x", self.ns)

    def test_forked_child_uses_the_parents_namespace(self):
        self.ns["p"] = b"parent"
        v = self.ns.var("v")
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                ok = self.ns["p"] == b"parent"
                self.ns["c"] = "child"
                v.set(b"via var")
                self.ns.add("n", 3)
                self.ns.close()
                status = 0 if ok else 2
            finally:
                os._exit(status)
        _, st = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(st), 0)
        self.assertEqual(self.ns["c"], "child")
        self.assertEqual(v.get(), b"via var")
        self.assertEqual(self.ns.add("n", 0), 3)  # the parent's view is still open


if __name__ == "__main__":
    unittest.main()
