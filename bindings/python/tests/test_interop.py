"""Python with the mmf tool and with a C program (c_peer), both ways: bytes,
text, pickles, counters, versions and the value tags."""
import pickle
import sys
import unittest

import mmf
from support import PEER, TOOL, NamespaceCase, run

EVERY_BYTE = bytes(range(256))


@unittest.skipUnless(TOOL, "MMF_TOOL is not set")
class Tool(NamespaceCase):
    def tool(self, *args, stdin=None):
        rc, out = run(TOOL, *args, stdin=stdin)
        self.assertEqual(rc, 0, args)
        return out

    def test_python_to_tool(self):
        self.ns["b"] = EVERY_BYTE
        self.assertEqual(self.tool("get", self.name, "b", "--hex"), EVERY_BYTE.hex().encode() + b"\n")
        self.assertEqual(self.tool("get", self.name, "b"), EVERY_BYTE)
        self.ns["t"] = "text é 日本"
        self.assertEqual(self.tool("get", self.name, "t"), "text é 日本".encode())  # prints as text
        self.assertIn(b"t", self.tool("ls", self.name))

    def test_tool_to_python(self):
        self.tool("set", self.name, "from.tool", "written-by-the-tool")
        self.assertEqual(self.ns["from.tool"], b"written-by-the-tool")
        self.tool("set", self.name, "binary", stdin=EVERY_BYTE)
        self.assertEqual(self.ns["binary"], EVERY_BYTE)
        frozen = pickle.dumps({"a": 1})
        self.tool("set", self.name, "looks.pickled", stdin=frozen)
        self.assertEqual(self.ns["looks.pickled"], frozen)  # bytes, never unpickled

    def test_counters_and_versions(self):
        self.assertEqual(self.tool("add", self.name, "n", "5"), b"5\n")
        self.assertEqual(self.ns.add("n", 1), 6)
        self.assertEqual(self.tool("add", self.name, "n", "1"), b"7\n")
        self.assertEqual(int.from_bytes(self.ns["n"], sys.byteorder, signed=True), 7)
        self.ns["v"] = b"x"
        out = self.tool("get", self.name, "v", "--version")
        self.assertEqual(int(out.split()[0]), self.ns.version("v"))

    def test_tool_wakes_a_python_wait(self):
        self.ns["w"] = b"1"
        v = self.ns.version("w")
        self.tool("set", self.name, "w", "2")
        self.assertTrue(self.ns.wait("w", v, timeout=30))


@unittest.skipUnless(PEER, "MMF_PY_PEER is not set")
class CProgram(NamespaceCase):
    def peer_get(self, key):
        rc, out = run(PEER, "get", self.name, key)
        self.assertEqual(rc, 0)
        tag, hexval = out.decode().split(" ")
        return int(tag), bytes.fromhex(hexval.strip())

    def peer_set(self, key, tag, value):
        rc, _ = run(PEER, "set", self.name, key, str(tag), value.hex())
        self.assertEqual(rc, 0)

    def test_python_to_c_with_tags(self):
        self.ns["b"] = EVERY_BYTE
        self.assertEqual(self.peer_get("b"), (mmf.TAG_BYTES, EVERY_BYTE))
        self.ns["t"] = "é"
        self.assertEqual(self.peer_get("t"), (mmf.TAG_TEXT, "é".encode()))
        self.ns["o"] = [1, 2]
        tag, raw = self.peer_get("o")
        self.assertEqual(tag, mmf.TAG_PICKLE)
        self.assertEqual(pickle.loads(raw), [1, 2])
        rc, _ = run(PEER, "get", self.name, "missing")
        self.assertEqual(rc, 1)

    def test_c_to_python_by_tag(self):
        self.peer_set("b", mmf.TAG_BYTES, EVERY_BYTE)
        self.assertEqual(self.ns["b"], EVERY_BYTE)
        self.peer_set("t", mmf.TAG_TEXT, "日本".encode())
        self.assertEqual(self.ns["t"], "日本")
        self.peer_set("o", mmf.TAG_PICKLE, pickle.dumps({"x": (1, 2)}))
        self.assertEqual(self.ns["o"], {"x": (1, 2)})
        self.peer_set("s", mmf.TAG_STORABLE, b"pst0\x04\x0b")  # Perl's Storable: bytes here
        self.assertEqual(self.ns["s"], b"pst0\x04\x0b")
        self.peer_set("sl", mmf.TAG_STORABLE_LIST, b"\x01\x02")
        self.assertEqual(self.ns["sl"], b"\x01\x02")
        self.peer_set("future", 9, b"later")  # a tag from the future: bytes
        self.assertEqual(self.ns["future"], b"later")
        self.peer_set("bad.text", mmf.TAG_TEXT, b"\xff\xfe")  # not UTF-8: still readable
        self.assertEqual(self.ns["bad.text"].encode("utf-8", "surrogateescape"), b"\xff\xfe")
        self.peer_set("empty", mmf.TAG_BYTES, b"")
        self.assertEqual(self.ns["empty"], b"")


if __name__ == "__main__":
    unittest.main()
