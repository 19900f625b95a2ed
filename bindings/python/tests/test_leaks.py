"""Memory stays flat over 100,000 gets and sets of every kind of value."""
import os
import unittest

from support import NamespaceCase

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Leaks(NamespaceCase):
    def churn(self, rounds):
        ns = self.ns
        v = ns.var("var")
        big = b"B" * 2000
        for i in range(rounds):
            k = "k%d" % (i % 100)
            ns[k] = b"bytes value %d" % i
            ns[k]
            ns["t"] = "text %d" % i
            ns["t"]
            ns["o"] = (i, "x")
            ns["o"]
            ns["big"] = big
            ns["big"]
            ns.get("missing")
            try:
                ns["missing"]
            except KeyError:
                pass
            v.set(b"v")
            v.get()
            ns.version(k)
            ns.cas(k, 1, b"x")
            ns.add("n", 1)
            k in ns
            if i % 1000 == 0:
                list(ns)
                ns.items()

    def test_rss_stays_flat(self):
        self.churn(10000)  # warm up: caches, free lists, the allocator's arenas
        before = rss()
        self.churn(100000)
        grown = rss() - before
        self.assertLess(grown, 2 << 20, "RSS grew %d bytes over 100,000 rounds" % grown)


if __name__ == "__main__":
    unittest.main()
