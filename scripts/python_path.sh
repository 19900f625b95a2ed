#!/usr/bin/env bash
# After `cmake --install BUILD` (prefix /usr/local): makes `import mmf` work
# for the python3 on PATH too when it is not the interpreter the module was
# built for (a pyenv or a venv of the same version), with a .pth file in its
# site-packages naming the installed package's directory.
set -euo pipefail
build=$1
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$build/CMakeCache.txt")
dir=$prefix/$(sed -n 's/^MMF_PYTHON_INSTALL_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -d "$dir/mmf" ] || exit 0 # the module was not built (no python3-dev)
command -v python3 >/dev/null || exit 0
python3 -c "import mmf" 2>/dev/null && exit 0
built=$(ls "$dir"/mmf/_mmf.cpython-*.so | sed 's/.*_mmf\.cpython-\([0-9]*\)-.*/\1/')
have=$(python3 -c 'import sys; print("%d%d" % sys.version_info[:2])')
if [ "$built" != "$have" ]; then
  echo "note: mmf's Python module is built for Python ${built:0:1}.${built:1}; python3 here is another version"
  exit 0
fi
site=$(python3 -c 'import site; print(site.getsitepackages()[0])')
echo "$dir" >"$site/mmf-local.pth"
python3 -c "import mmf" && echo "python3: import mmf works (package in $dir)"
