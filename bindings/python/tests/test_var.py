"""mmf.Var: a handle on one variable, behaving as the by-name calls."""
import threading
import unittest

import mmf
from support import NamespaceCase


class Var(NamespaceCase):
    def test_get_set_version(self):
        v = self.ns.var("quote.EURUSD")
        self.assertIsInstance(v, mmf.Var)
        self.assertEqual(v.key, "quote.EURUSD")
        self.assertIs(v.namespace, self.ns)
        self.assertIsNone(v.get())
        self.assertEqual(v.get(b"dflt"), b"dflt")
        self.assertEqual(v.version, 0)
        v.set(b"1.0876")
        self.assertEqual(v.get(), b"1.0876")
        self.assertEqual(self.ns["quote.EURUSD"], b"1.0876")
        self.assertEqual(v.version, self.ns.version("quote.EURUSD"))
        self.ns["quote.EURUSD"] = "text"
        self.assertEqual(v.get(), "text")
        v.set({"o": 1})
        self.assertEqual(self.ns["quote.EURUSD"], {"o": 1})
        self.assertIn("quote.EURUSD", repr(v))

    def test_cas_add_delete(self):
        v = self.ns.var("c")
        self.assertTrue(v.cas(0, b"a"))
        self.assertFalse(v.cas(0, b"b"))
        self.assertTrue(v.cas(v.version, b"c"))
        self.assertEqual(v.get(), b"c")
        v.delete()
        self.assertNotIn("c", self.ns)
        with self.assertRaises(KeyError):
            v.delete()
        self.assertEqual(v.add(), 1)  # the handle outlives delete and re-create
        self.assertEqual(v.add(41), 42)
        self.assertEqual(self.ns.add("c", 0), 42)

    def test_wait(self):
        v = self.ns.var("w")
        self.assertFalse(v.wait(0, timeout=0.05))
        t = threading.Timer(0.05, lambda: self.ns.__setitem__("w", b"x"))
        t.start()
        self.assertTrue(v.wait(0, timeout=30))
        t.join()
        self.assertFalse(v.wait(v.version, timeout=0))

    def test_bad_arguments(self):
        v = self.ns.var("k")
        with self.assertRaises(TypeError):
            v.get(1, 2)
        with self.assertRaises(TypeError):
            v.cas(0)
        with self.assertRaises(ValueError):
            v.cas(-1, b"")
        with self.assertRaises(TypeError):
            v.add("1")
        with self.assertRaises(ValueError):
            v.wait(0, timeout=-1)
        with self.assertRaises(TypeError):
            self.ns.var(5)

    def test_closed_namespace(self):
        v = self.ns.var("k")
        self.ns.close()
        for call in [v.get, lambda: v.set(b"x"), lambda: v.version, lambda: v.cas(0, b""),
                     v.add, lambda: v.wait(0, 0), v.delete]:
            with self.assertRaises(ValueError):
                call()


if __name__ == "__main__":
    unittest.main()
