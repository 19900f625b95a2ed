"""Values: bytes-like as they are, str as text, anything else pickled; tags
never confused."""
import pickle
import unittest

import mmf
from support import NamespaceCase


class Values(NamespaceCase):
    def test_bytes_like_read_back_as_bytes(self):
        self.ns["b"] = b"raw\x00bytes"
        self.ns["ba"] = bytearray(b"\x01\x02")
        self.ns["mv"] = memoryview(b"abcdef")
        self.ns["mv.strided"] = memoryview(b"abcdef")[::2]
        self.assertEqual(self.ns["b"], b"raw\x00bytes")
        self.assertEqual(self.ns["ba"], b"\x01\x02")
        self.assertIs(type(self.ns["ba"]), bytes)
        self.assertEqual(self.ns["mv"], b"abcdef")
        self.assertEqual(self.ns["mv.strided"], b"ace")

    def test_all_byte_values(self):
        every = bytes(range(256)) * 3
        self.ns["all"] = every
        self.assertEqual(self.ns["all"], every)

    def test_text(self):
        for s in ["text", "", "é ü 日本語 🎉", "a\x00b"]:
            self.ns["t"] = s
            self.assertEqual(self.ns["t"], s)
            self.assertIs(type(self.ns["t"]), str)

    def test_text_with_lone_surrogate_is_refused(self):
        with self.assertRaises(ValueError):
            self.ns["t"] = "\udc80"
        self.assertNotIn("t", self.ns)

    def test_objects_are_pickled(self):
        for v in [{"a": [1, 2]}, 42, -1.5, None, True, (1, "x"), {1, 2}, [b"x", "y"], 2 ** 100]:
            self.ns["o"] = v
            self.assertEqual(self.ns["o"], v)
            self.assertIs(type(self.ns["o"]), type(v))

    def test_empty_values_keep_the_variable(self):
        self.ns["e"] = b""
        self.assertIn("e", self.ns)
        self.assertEqual(self.ns["e"], b"")
        self.ns["s"] = ""
        self.assertEqual(self.ns["s"], "")

    def test_large_values_and_changing_sizes(self):
        for n in [0, 1, 63, 64, 65, 511, 512, 513, 4096, 100000, 10]:
            v = bytes([n % 251]) * n
            self.ns["big"] = v
            self.assertEqual(self.ns["big"], v)
            self.ns["bigt"] = "x" * n
            self.assertEqual(self.ns["bigt"], "x" * n)
        big = {"k%d" % i: i for i in range(5000)}
        self.ns["bigo"] = big
        self.assertEqual(self.ns["bigo"], big)

    def test_bytes_that_are_a_valid_pickle_stay_bytes(self):
        frozen = pickle.dumps({"a": 1})
        self.ns["looks.pickled"] = frozen
        self.assertEqual(self.ns["looks.pickled"], frozen)
        self.ns["looks.text"] = "plain".encode()
        self.assertEqual(self.ns["looks.text"], b"plain")

    def test_unpicklable_value_changes_nothing(self):
        self.ns["k"] = b"old"
        with self.assertRaises(Exception):
            self.ns["k"] = lambda: 0
        self.assertEqual(self.ns["k"], b"old")

    def test_other_buffers_are_pickled_and_keep_their_type(self):
        import array
        a = array.array("i", [1, 2, 3])
        self.ns["arr"] = a
        self.assertEqual(self.ns["arr"], a)


if __name__ == "__main__":
    unittest.main()
