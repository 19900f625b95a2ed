"""What the Python tests share: unique namespace names, a base class that
opens one and removes it afterwards, the paths of the other programs."""
import itertools
import os
import subprocess
import unittest

import mmf

_serial = itertools.count()

TOOL = os.environ.get("MMF_TOOL")   # the mmf command-line tool
PEER = os.environ.get("MMF_PY_PEER")  # c_peer: a C program on the public API


def unique_name(tag):
    """A namespace name no other test (or run) uses: the pid and a serial."""
    return "mmf-py-%s.%d.%d" % (tag, os.getpid(), next(_serial))


def unlink_quietly(name, path=None):
    try:
        mmf.unlink(name, path)
    except mmf.NotFound:
        pass


def run(*argv, stdin=None):
    """Runs a program; returns (exit status, stdout bytes)."""
    p = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return p.returncode, p.stdout


class NamespaceCase(unittest.TestCase):
    """Each test gets self.ns, a fresh 1 MiB namespace named self.name."""

    size = 1 << 20

    def setUp(self):
        self.name = unique_name(type(self).__name__)
        self.ns = mmf.Namespace(self.name, size=self.size)

    def tearDown(self):
        self.ns.close()
        unlink_quietly(self.name)
