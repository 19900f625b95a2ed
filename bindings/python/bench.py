"""Gets and sets per second from Python: mmf (ns[k] get and set, a Var's get)
against python3-lmdb, a multiprocessing Manager().dict() and a plain dict.

    PYTHONPATH=build/release/python python3 bindings/python/bench.py [--keys N] [--seconds S]

Each figure is the best of three timed rounds over the same keys in a
shuffled order (a round is a plain for loop, so the interpreter's own cost
is in every figure, the dict's too).
"""
import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time

import mmf


def rate(fn, keys, seconds):
    """Best ops/s of three rounds; each round repeats fn over keys for ~seconds/3."""
    best = 0.0
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while True:
            fn(keys)
            n += len(keys)
            dt = time.perf_counter() - t0
            if dt >= seconds / 3:
                break
        best = max(best, n / dt)
    return best


def gets(mapping):
    def run(keys):
        for k in keys:
            mapping[k]
    return run


def sets(mapping, value):
    def run(keys):
        for k in keys:
            mapping[k] = value
    return run


def var_gets(vars_):
    def run(items):
        for v in items:
            v.get()
    return run


def lmdb_gets(env):
    def run(keys):
        with env.begin(buffers=False) as txn:
            get = txn.get
            for k in keys:
                get(k)
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=20000)
    ap.add_argument("--value-size", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    a = ap.parse_args()

    value = bytes(random.randrange(256) for _ in range(a.value_size))
    names = ["key.%06d" % i for i in range(a.keys)]
    order = names[:]
    random.shuffle(order)
    results = []

    name = "mmf-pybench.%d" % os.getpid()
    ns = mmf.Namespace(name, size=64 << 20, max_vars=2 * a.keys)
    try:
        for k in names:
            ns[k] = value
        results.append(("mmf ns[k] get", rate(gets(ns), order, a.seconds)))
        results.append(("mmf ns[k] = v set", rate(sets(ns, value), order, a.seconds)))
        vs = [ns.var(k) for k in order]
        results.append(("mmf Var.get()", rate(var_gets(vs), vs, a.seconds)))
    finally:
        ns.close()
        mmf.unlink(name)

    try:
        import lmdb
    except ImportError:
        lmdb = None
    if lmdb:
        d = tempfile.mkdtemp(prefix="mmf-pybench-lmdb.")
        try:
            env = lmdb.open(d, map_size=256 << 20)
            with env.begin(write=True) as txn:
                for k in names:
                    txn.put(k.encode(), value)
            bkeys = [k.encode() for k in order]
            results.append(("python3-lmdb get (one read txn)", rate(lmdb_gets(env), bkeys, a.seconds)))
            env.close()
        finally:
            shutil.rmtree(d)
    else:
        print("python3-lmdb is not installed: its row is left out", file=sys.stderr)

    with multiprocessing.Manager() as mgr:
        md = mgr.dict()
        md.update({k: value for k in names})
        results.append(("Manager().dict() get", rate(gets(md), order[:2000], a.seconds)))

    plain = {k: value for k in names}
    results.append(("plain dict get", rate(gets(plain), order, a.seconds)))

    base = results[0][1]
    print("%d keys, %d-byte values, Python %s, best of 3 rounds" %
          (a.keys, a.value_size, sys.version.split()[0]))
    print("%-34s %14s %14s" % ("operation", "ops/s", "mmf get / this"))
    for label, r in results:
        print("%-34s %14s %14.2f" % (label, "{:,.0f}".format(r), base / r))


if __name__ == "__main__":
    main()
