"""Namespace: the mapping, versions, cas, add, wait, lock, stats, check,
dump, close, from_spec, unlink."""
import collections.abc
import os
import sys
import threading
import unittest

import mmf
from support import NamespaceCase, unique_name, unlink_quietly


class Mapping(NamespaceCase):
    def test_is_a_mutable_mapping(self):
        self.assertIsInstance(self.ns, collections.abc.MutableMapping)
        self.assertTrue(issubclass(mmf.Namespace, collections.abc.MutableMapping))

    def test_set_get_delete_contains_len(self):
        self.assertEqual(len(self.ns), 0)
        self.ns["a"] = b"1"
        self.ns["b"] = "2"
        self.assertEqual(len(self.ns), 2)
        self.assertIn("a", self.ns)
        self.assertNotIn("c", self.ns)
        del self.ns["a"]
        self.assertNotIn("a", self.ns)
        self.assertEqual(len(self.ns), 1)
        with self.assertRaises(KeyError):
            del self.ns["a"]

    def test_missing_is_a_key_error(self):
        with self.assertRaises(KeyError) as cm:
            self.ns["missing"]
        self.assertEqual(cm.exception.args, ("missing",))

    def test_get_with_default(self):
        self.assertIsNone(self.ns.get("missing"))
        self.assertEqual(self.ns.get("missing", 5), 5)
        self.assertEqual(self.ns.get("missing", default=6), 6)
        self.ns["k"] = b"v"
        self.assertEqual(self.ns.get("k", 5), b"v")

    def test_iteration_keys_items_values(self):
        want = {"a": b"1", "b": "two", "c": [3]}
        for k, v in want.items():
            self.ns[k] = v
        self.assertEqual(sorted(self.ns), sorted(want))
        self.assertEqual(sorted(self.ns.keys()), sorted(want))
        self.assertEqual(sorted(self.ns.items(), key=repr), sorted(want.items(), key=repr))
        self.assertEqual(sorted(map(repr, self.ns.values())), sorted(map(repr, want.values())))
        self.assertEqual(dict(self.ns), want)
        self.assertEqual(self.ns, want)

    def test_mutable_mapping_mixins(self):
        self.ns.update({"a": b"1"}, b="2")
        self.assertEqual(self.ns.pop("a"), b"1")
        self.assertEqual(self.ns.pop("a", None), None)
        self.assertEqual(self.ns.setdefault("c", b"3"), b"3")
        self.assertEqual(self.ns.setdefault("c", b"4"), b"3")
        k, v = self.ns.popitem()
        self.assertIn(k, ("b", "c"))
        self.ns.clear()
        self.assertEqual(len(self.ns), 0)

    def test_keys_of_every_kind(self):
        for key in ["k" * 255, "é", "日本", "a b", "\udc80raw"]:
            self.ns[key] = b"x"
            self.assertEqual(self.ns[key], b"x")
            self.assertIn(key, list(self.ns))
        self.ns[b"bytes.key"] = b"y"
        self.assertEqual(self.ns["bytes.key"], b"y")
        self.assertIn("bytes.key", self.ns)


class Methods(NamespaceCase):
    def test_version(self):
        self.assertEqual(self.ns.version("v"), 0)
        self.ns["v"] = b"1"
        v1 = self.ns.version("v")
        self.assertGreater(v1, 0)
        self.ns["v"] = b"2"
        self.assertNotEqual(self.ns.version("v"), v1)
        del self.ns["v"]
        self.assertEqual(self.ns.version("v"), 0)

    def test_cas(self):
        self.assertTrue(self.ns.cas("c", 0, b"first"))
        self.assertFalse(self.ns.cas("c", 0, b"again"))
        v = self.ns.version("c")
        self.assertTrue(self.ns.cas("c", v, "text"))
        self.assertEqual(self.ns["c"], "text")
        self.assertFalse(self.ns.cas("c", v, b"stale"))
        self.assertEqual(self.ns["c"], "text")
        self.assertTrue(self.ns.cas("c", self.ns.version("c"), {"o": 1}))
        self.assertEqual(self.ns["c"], {"o": 1})

    def test_add(self):
        self.assertEqual(self.ns.add("n", 5), 5)
        self.assertEqual(self.ns.add("n"), 6)
        self.assertEqual(self.ns.add("n", -10), -4)
        self.assertEqual(int.from_bytes(self.ns["n"], sys.byteorder, signed=True), -4)
        self.ns["s"] = b"abc"
        with self.assertRaises(mmf.InvalidArgument) as cm:
            self.ns.add("s", 1)
        self.assertIsInstance(cm.exception, ValueError)
        self.assertEqual(cm.exception.code, -7)

    def test_wait(self):
        self.assertFalse(self.ns.wait("w", 0, timeout=0.05))
        self.assertFalse(self.ns.wait("w", 0, 0))
        self.ns["w"] = b"1"
        v = self.ns.version("w")
        self.assertTrue(self.ns.wait("w", 0, timeout=0))
        self.assertTrue(self.ns.wait("w", 0, timeout=1))
        self.assertFalse(self.ns.wait("w", v, timeout=0.05))
        t = threading.Timer(0.05, lambda: self.ns.__setitem__("w", b"2"))
        t.start()
        self.assertTrue(self.ns.wait("w", v, timeout=30))
        t.join()
        self.assertEqual(self.ns["w"], b"2")

    def test_lock_context_manager(self):
        with self.ns.lock(timeout=1) as held:
            self.assertTrue(held.held)
            self.ns["a"] = b"1"
            with self.ns.lock():  # recursive for its holder
                self.ns["b"] = b"2"
        self.assertFalse(held.held)
        self.assertEqual(self.ns["b"], b"2")
        g = self.ns.lock()
        g.release()
        g.release()
        with self.assertRaises(mmf.NotLocked):
            self.ns.unlock()

    def test_lock_timeout_while_another_thread_holds_it(self):
        holding, done = threading.Event(), threading.Event()

        def holder():
            with self.ns.lock():
                holding.set()
                done.wait(30)

        t = threading.Thread(target=holder)
        t.start()
        try:
            self.assertTrue(holding.wait(30))
            with self.assertRaises(mmf.Timeout) as cm:
                self.ns.lock(timeout=0.1)
            self.assertIsInstance(cm.exception, TimeoutError)
            with self.assertRaises(mmf.Timeout):
                self.ns.lock(timeout=0)
            self.assertEqual(self.ns.get("missing"), None)  # reads go on
        finally:
            done.set()
            t.join()
        with self.ns.lock(timeout=5):
            pass

    def test_stats(self):
        self.ns["a"] = b"x" * 100
        st = self.ns.stats()
        for f in ["size", "heap_size", "heap_used", "heap_free", "largest_free_block", "vars",
                  "max_vars", "tombstones", "lock_acquisitions", "lock_recoveries", "attached",
                  "grows", "index_rebuilds", "claim_takeovers"]:
            self.assertIsInstance(st[f], int, f)
        self.assertEqual(len(st), 14)
        self.assertEqual(st["size"], self.size)
        self.assertEqual(st["vars"], 1)

    def test_check_and_dump(self):
        self.ns["a"] = b"1"
        self.assertIs(self.ns.check(), True)
        d = self.ns.dump()
        self.assertIsInstance(d, str)
        self.assertIn(self.name, d)

    def test_repr_name_closed(self):
        self.assertEqual(self.ns.name, self.name)
        self.assertIn(self.name, repr(self.ns))
        self.assertFalse(self.ns.closed)


class Lifetime(unittest.TestCase):
    def setUp(self):
        self.name = unique_name("life")

    def tearDown(self):
        unlink_quietly(self.name)

    def test_close_and_context_manager(self):
        with mmf.Namespace(self.name) as ns:
            ns["k"] = b"v"
        self.assertTrue(ns.closed)
        ns.close()  # again: nothing
        for call in [lambda: ns["k"], lambda: ns.__setitem__("k", b"x"), lambda: len(ns),
                     lambda: "k" in ns, lambda: list(ns), lambda: ns.version("k"),
                     lambda: ns.add("n", 1), lambda: ns.wait("k", 0), lambda: ns.lock(),
                     lambda: ns.stats(), lambda: ns.check(), lambda: ns.dump(),
                     lambda: ns.var("k"), lambda: ns.cas("k", 0, b""), lambda: ns.get("k")]:
            with self.assertRaises(ValueError):
                call()
        with self.assertRaises(ValueError):
            with ns:
                pass
        with mmf.Namespace(self.name, reuse=True) as again:  # the namespace stays
            self.assertEqual(again["k"], b"v")

    def test_from_spec(self):
        with mmf.Namespace.from_spec("name=%s size=256K mode=0600" % self.name) as ns:
            self.assertIsInstance(ns, mmf.Namespace)
            self.assertEqual(ns.name, self.name)
            self.assertEqual(ns.stats()["size"], 256 * 1024)
            ns["x"] = "y"
        with mmf.Namespace.from_spec("-namespace=%s,reuse=1" % self.name) as ns:
            self.assertEqual(ns["x"], "y")

    def test_unlink(self):
        mmf.Namespace(self.name).close()
        mmf.unlink(self.name)
        with self.assertRaises(mmf.NotFound):
            mmf.unlink(self.name)

    def test_file_backed(self):
        path = "/tmp/%s.swp" % self.name
        try:
            with mmf.Namespace(self.name, path=path) as ns:
                ns["f"] = b"file"
            self.assertTrue(os.path.exists(path))
            with mmf.Namespace(self.name, path=path.encode(), reuse=True) as ns:
                self.assertEqual(ns["f"], b"file")
            mmf.unlink(None, path)
            self.assertFalse(os.path.exists(path))
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def test_every_option(self):
        with mmf.Namespace(self.name, size=1 << 18, path=None, reuse=False, exclusive=True,
                           autolock=True, timeout=2.5, mode=0o600, max_size=0, readonly=False,
                           transient=False, spin=0.001, max_vars=100, debug=False) as ns:
            ns["k"] = b"v"
            self.assertGreaterEqual(ns.stats()["max_vars"], 100)
        st = os.stat("/dev/shm/" + self.name)
        self.assertEqual(st.st_mode & 0o777, 0o600)

    def test_mode(self):
        with mmf.Namespace(self.name, mode=0o640):
            pass
        self.assertEqual(os.stat("/dev/shm/" + self.name).st_mode & 0o777, 0o640)

    def test_transient(self):
        with mmf.Namespace(self.name, transient=True) as ns:
            ns["k"] = b"v"
            self.assertTrue(os.path.exists("/dev/shm/" + self.name))
            self.assertEqual(ns.stats()["attached"], 1)
        self.assertFalse(os.path.exists("/dev/shm/" + self.name))
        with self.assertRaises(mmf.NotFound):
            mmf.Namespace(self.name, transient=True, reuse=True)

    def test_readonly(self):
        with mmf.Namespace(self.name) as ns:
            ns["k"] = b"v"
            with mmf.Namespace(self.name, readonly=True) as ro:
                self.assertEqual(ro["k"], b"v")
                with self.assertRaises(mmf.PermissionDenied) as cm:
                    ro["k"] = b"w"
                self.assertIsInstance(cm.exception, PermissionError)
                with self.assertRaises(mmf.PermissionDenied):
                    del ro["k"]
                self.assertEqual(ro["k"], b"v")
                self.assertEqual(ro.stats()["attached"], 1)  # the writer; readers do not register
        with self.assertRaises(mmf.NotFound):
            mmf.Namespace(self.name + ".none", readonly=True)


if __name__ == "__main__":
    unittest.main()
