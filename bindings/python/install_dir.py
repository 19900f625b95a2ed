"""Prints where, under the prefix given, the Python package should go: a
directory this interpreter already searches there, else the standard
lib/pythonX.Y/site-packages (which then needs PYTHONPATH)."""
import os
import sys

prefix = os.path.normpath(sys.argv[1])
xy = "python%d.%d" % sys.version_info[:2]
candidates = ["lib/%s/site-packages" % xy, "lib/%s/dist-packages" % xy, "lib/python3/dist-packages"]
searched = {os.path.normpath(p) for p in sys.path if p}
for c in candidates:
    if os.path.join(prefix, c) in searched:
        print(c)
        break
else:
    print(candidates[0])
