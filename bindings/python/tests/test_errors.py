"""The exception classes, and bad arguments: TypeError / ValueError, never a
crash."""
import os
import pickle
import threading
import unittest

import mmf
from support import NamespaceCase, unique_name, unlink_quietly


class Classes(unittest.TestCase):
    def test_hierarchy(self):
        for cls, also in [(mmf.NotFound, FileNotFoundError), (mmf.Exists, FileExistsError),
                          (mmf.NoSpace, None), (mmf.Timeout, TimeoutError), (mmf.Corrupt, None),
                          (mmf.PermissionDenied, PermissionError),
                          (mmf.InvalidArgument, ValueError), (mmf.NotLocked, None)]:
            self.assertTrue(issubclass(cls, mmf.Error), cls)
            if also:
                self.assertTrue(issubclass(cls, also), cls)
        self.assertTrue(issubclass(mmf.Error, Exception))
        self.assertIsInstance(mmf.strerror(-5), str)
        self.assertNotEqual(mmf.strerror(-1), mmf.strerror(-5))
        with self.assertRaises(TypeError):
            mmf.strerror("x")


class Raised(unittest.TestCase):
    def setUp(self):
        self.name = unique_name("err")

    def tearDown(self):
        unlink_quietly(self.name)

    def test_not_found(self):
        with self.assertRaises(mmf.NotFound) as cm:
            mmf.Namespace(self.name, reuse=True)
        self.assertEqual(cm.exception.code, -2)
        self.assertIsInstance(cm.exception, FileNotFoundError)

    def test_exists(self):
        mmf.Namespace(self.name).close()
        with self.assertRaises(mmf.Exists) as cm:
            mmf.Namespace(self.name, exclusive=True)
        self.assertEqual(cm.exception.code, -3)

    def test_no_space_changes_nothing(self):
        # one that cannot grow (by default it would, to 1 GiB)
        with mmf.Namespace(self.name, size=64 * 1024, max_size=64 * 1024) as ns:
            ns["keep"] = b"k"
            with self.assertRaises(mmf.NoSpace) as cm:
                ns["huge"] = b"x" * (1 << 20)
            self.assertEqual(cm.exception.code, -4)
            self.assertEqual(ns["keep"], b"k")
            self.assertNotIn("huge", ns)

    def test_timeout_on_write(self):
        with mmf.Namespace(self.name, timeout=0.1) as ns:
            ns["k"] = b"v"
            holding, done = threading.Event(), threading.Event()

            def holder():
                with ns.lock():
                    holding.set()
                    done.wait(30)

            t = threading.Thread(target=holder)
            t.start()
            try:
                holding.wait(30)
                with self.assertRaises(mmf.Timeout) as cm:
                    ns["k"] = b"w"
                self.assertIsInstance(cm.exception, TimeoutError)
                self.assertEqual(cm.exception.code, -5)
            finally:
                done.set()
                t.join()
            self.assertEqual(ns["k"], b"v")

    def test_not_locked(self):
        with mmf.Namespace(self.name, autolock=False) as ns:
            with self.assertRaises(mmf.NotLocked) as cm:
                ns["k"] = b"v"
            self.assertEqual(cm.exception.code, -12)
            with ns.lock():
                ns["k"] = b"v"
            self.assertEqual(ns["k"], b"v")

    def test_corrupt(self):
        path = "/tmp/%s.swp" % self.name
        with open(path, "wb") as f:
            f.write(b"not a namespace" * 1000)
        os.chmod(path, 0o600)
        try:
            with self.assertRaises(mmf.Corrupt) as cm:
                mmf.Namespace(self.name, path=path, reuse=True)
            self.assertIn(cm.exception.code, (-8, -9))
        finally:
            os.unlink(path)

    def test_permission_denied(self):
        if os.geteuid() != 0:
            self.skipTest("needs root, to become another user")
        import pwd
        nobody = pwd.getpwnam("nobody").pw_uid
        mmf.Namespace(self.name).close()  # 0600, root's
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                os.setuid(nobody)
                mmf.Namespace(self.name, reuse=True)
            except mmf.PermissionDenied as e:
                status = 0 if isinstance(e, PermissionError) and e.code == -11 else 2
            except BaseException:
                status = 3
            os._exit(status)
        _, st = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(st), 0)


class BadArguments(NamespaceCase):
    def test_bad_keys(self):
        ns = self.ns
        for key, exc in [(1, TypeError), (None, TypeError), (["k"], TypeError), (1.5, TypeError),
                         ("", ValueError), ("a\x00b", ValueError), ("k" * 256, ValueError),
                         ("é" * 128, ValueError), (b"", ValueError), (b"a\x00", ValueError)]:
            for call in [lambda: ns[key], lambda: ns.__setitem__(key, b"v"),
                         lambda: ns.__delitem__(key), lambda: key in ns, lambda: ns.get(key),
                         lambda: ns.version(key), lambda: ns.cas(key, 0, b""),
                         lambda: ns.add(key, 1), lambda: ns.wait(key, 0, 0), lambda: ns.var(key)]:
                with self.assertRaises(exc, msg=repr(key)):
                    call()
        self.assertEqual(len(ns), 0)

    def test_bad_numbers(self):
        ns = self.ns
        ns["k"] = b"v"
        for v, exc in [(-1, ValueError), (2 ** 64, ValueError), ("1", TypeError),
                       (1.0, TypeError), (None, TypeError)]:
            with self.assertRaises(exc):
                ns.cas("k", v, b"x")
            with self.assertRaises(exc):
                ns.wait("k", v, 0)
        for d, exc in [(2 ** 63, ValueError), (-2 ** 63 - 1, ValueError), ("1", TypeError),
                       (1.5, TypeError)]:
            with self.assertRaises(exc):
                ns.add("n", d)
        for t, exc in [(-1, ValueError), (float("nan"), ValueError), ("1", TypeError),
                       ([], TypeError)]:
            with self.assertRaises(exc):
                ns.wait("k", 0, t)
            with self.assertRaises(exc):
                ns.lock(timeout=t)
        self.assertNotIn("n", ns)
        self.assertEqual(ns["k"], b"v")

    def test_bad_arity(self):
        ns = self.ns
        with self.assertRaises(TypeError):
            ns.cas("k", 0)
        with self.assertRaises(TypeError):
            ns.add()
        with self.assertRaises(TypeError):
            ns.add("k", 1, 2)
        with self.assertRaises(TypeError):
            ns.wait("k")
        with self.assertRaises(TypeError):
            ns.get()
        with self.assertRaises(TypeError):
            ns.lock(1, 2)

    def test_bad_namespace_arguments(self):
        n = unique_name("bad")
        for kw, exc in [(dict(name=""), ValueError), (dict(name="a/b"), ValueError),
                        (dict(name="..x"), ValueError), (dict(name="x" * 201), ValueError),
                        (dict(name="a\x00b"), ValueError), (dict(name=5), TypeError),
                        (dict(name=n, size=-1), ValueError), (dict(name=n, size="1"), TypeError),
                        (dict(name=n, mode=0o10000), ValueError),
                        (dict(name=n, timeout=-1), ValueError),
                        (dict(name=n, spin=-0.5), ValueError),
                        (dict(name=n, max_vars=2 ** 40), ValueError),
                        (dict(name=n, path="a\x00b"), ValueError),
                        (dict(name=n, path=5), TypeError), (dict(name=n, bogus=1), TypeError),
                        (dict(name=n, reuse=True, exclusive=True), ValueError)]:
            with self.assertRaises(exc, msg=repr(kw)):
                mmf.Namespace(**kw)
        self.assertFalse(os.path.exists("/dev/shm/" + n))
        with self.assertRaises(TypeError):
            mmf.Namespace()
        with self.assertRaises(TypeError):
            mmf.Namespace.from_spec(5)
        with self.assertRaises(ValueError):
            mmf.Namespace.from_spec("name=x bogus=1")
        with self.assertRaises(ValueError):
            mmf.Namespace.from_spec("name=x\x00")
        with self.assertRaises(TypeError):
            mmf.unlink(None)
        with self.assertRaises(TypeError):
            mmf.unlink(5)
        with self.assertRaises(ValueError):
            mmf.unlink("a/b")

    def test_not_picklable_and_not_constructible(self):
        with self.assertRaises(TypeError):
            pickle.dumps(self.ns)
        with self.assertRaises(TypeError):
            mmf.Var()
        with self.assertRaises(TypeError):
            mmf.Lock()


if __name__ == "__main__":
    unittest.main()
