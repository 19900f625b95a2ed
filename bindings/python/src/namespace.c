/*
 * mmf.Namespace: opening and closing, and the methods beyond the mapping
 * (mapping.c has those): version, cas, add, wait, lock, stats, check, dump,
 * var. The package's Namespace subclasses this type and
 * collections.abc.MutableMapping.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pymmf.h"

static PyObject *open_with(PyTypeObject *type, const mmf_options *o) {
    NsObject *self = (NsObject *)type->tp_alloc(type, 0);
    if (!self) return NULL;
    self->name = PyUnicode_DecodeFSDefault(o->name ? o->name : "");
    if (!self->name) {
        Py_DECREF(self);
        return NULL;
    }
    mmf *h = NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = mmf_open(o, &h);
    Py_END_ALLOW_THREADS if (rc) {
        mmfpy_raise(rc, self->name);
        Py_DECREF(self);
        return NULL;
    }
    self->h = self->live = h;
    self->refs = 1;
    return (PyObject *)self;
}

static PyObject *ns_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"name",      "size",    "path",     "reuse",    "exclusive",
                             "autolock",  "timeout", "mode",     "max_size", "readonly",
                             "transient", "spin",    "max_vars", "debug",    NULL};
    const char *name;
    PyObject *size = NULL, *path = Py_None, *timeout = NULL, *mode = NULL, *max_size = NULL,
             *spin = NULL, *max_vars = NULL;
    int reuse = 0, exclusive = 0, autolock = 1, readonly = 0, transient = 0, debug = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|OO$pppOOOppOOp:Namespace", kwlist, &name, &size,
                                     &path, &reuse, &exclusive, &autolock, &timeout, &mode,
                                     &max_size, &readonly, &transient, &spin, &max_vars, &debug))
        return NULL;
    mmf_options o = MMF_OPTIONS_INIT;
    uint64_t u;
    o.name = name;
    o.reuse = reuse;
    o.exclusive = exclusive;
    o.autolock = autolock;
    o.readonly = readonly;
    o.transient = transient;
    o.debug = debug;
    if (size && mmfpy_u64(size, "size", &o.size) < 0) return NULL;
    if (max_size && mmfpy_u64(max_size, "max_size", &o.max_size) < 0) return NULL;
    if (max_vars) {
        if (mmfpy_u64(max_vars, "max_vars", &u) < 0) return NULL;
        if (u > UINT32_MAX) return PyErr_Format(PyExc_ValueError, "max_vars is too large");
        o.max_vars = (uint32_t)u;
    }
    if (mode) {
        if (mmfpy_u64(mode, "mode", &u) < 0) return NULL;
        if (u > 07777) return PyErr_Format(PyExc_ValueError, "mode must be in 0..0o7777");
        o.mode = (uint32_t)u;
    }
    if (timeout && mmfpy_seconds(timeout, "timeout", 0, &o.timeout) < 0) return NULL;
    if (spin && mmfpy_seconds(spin, "spin", 0, &o.spin) < 0) return NULL;
    PyObject *fspath = NULL;
    if (path != Py_None) {
        if (!PyUnicode_FSConverter(path, &fspath)) return NULL;
        o.path = PyBytes_AS_STRING(fspath);
    }
    PyObject *r = open_with(type, &o);
    Py_XDECREF(fspath);
    return r;
}

static PyObject *ns_from_spec(PyTypeObject *type, PyObject *arg) {
    Py_ssize_t len;
    const char *spec = PyUnicode_Check(arg) ? PyUnicode_AsUTF8AndSize(arg, &len) : NULL;
    if (!spec) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "a spec is a str, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    if (memchr(spec, 0, (size_t)len))
        return PyErr_Format(PyExc_ValueError, "a spec cannot contain a NUL character");
    char *buf = PyMem_Malloc((size_t)len + 1);
    if (!buf) return PyErr_NoMemory();
    mmf_options o;
    int rc = mmf_parse_spec(spec, &o, buf, (size_t)len + 1);
    PyObject *r = rc ? mmfpy_raise(rc, arg) : open_with(type, &o);
    PyMem_Free(buf);
    return r;
}

static void ns_dealloc(NsObject *self) {
    mmfpy_close(self);
    Py_CLEAR(self->name);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *ns_repr(NsObject *self) {
    return PyUnicode_FromFormat("<mmf.Namespace %R%s>", self->name ? self->name : Py_None,
                                self->h ? "" : " (closed)");
}

static PyObject *ns_close(NsObject *self, PyObject *unused) {
    (void)unused;
    mmfpy_close(self);
    Py_RETURN_NONE;
}

static PyObject *ns_enter(NsObject *self, PyObject *unused) {
    (void)unused;
    if (mmfpy_check_open(self) < 0) return NULL;
    return Py_NewRef(self);
}

static PyObject *ns_exit(NsObject *self, PyObject *const *args, Py_ssize_t n) {
    (void)args;
    (void)n;
    mmfpy_close(self);
    Py_RETURN_FALSE;
}

static PyObject *ns_reduce(NsObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyErr_Format(PyExc_TypeError, "an mmf.Namespace cannot be pickled: open the "
                                         "namespace by its name in the other process");
}

/* ---- methods on one key ------------------------------------------------- */

static int nargs_ok(const char *fn, Py_ssize_t n, Py_ssize_t min, Py_ssize_t max) {
    if (n >= min && n <= max) return 1;
    if (min == max)
        PyErr_Format(PyExc_TypeError, "%s() takes %zd arguments (%zd given)", fn, min, n);
    else
        PyErr_Format(PyExc_TypeError, "%s() takes %zd to %zd arguments (%zd given)", fn, min, max,
                     n);
    return 0;
}

static PyObject *ns_version(NsObject *self, PyObject *key) {
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return NULL;
    uint64_t v;
    int rc = mmfpy_op_version(self, k.s, &v);
    mmfpy_key_done(&k);
    return rc < 0 ? NULL : PyLong_FromUnsignedLongLong(v);
}

static PyObject *ns_cas(NsObject *self, PyObject *const *args, Py_ssize_t n) {
    if (!nargs_ok("cas", n, 3, 3)) return NULL;
    mmfpy_key k;
    if (mmfpy_key_get(args[0], &k) < 0) return NULL;
    PyObject *r = mmfpy_op_cas(self, k.s, args[1], args[2]);
    mmfpy_key_done(&k);
    return r;
}

static PyObject *ns_add(NsObject *self, PyObject *const *args, Py_ssize_t n) {
    if (!nargs_ok("add", n, 1, 2)) return NULL;
    mmfpy_key k;
    if (mmfpy_key_get(args[0], &k) < 0) return NULL;
    PyObject *one = NULL;
    if (n < 2) one = PyLong_FromLong(1);
    PyObject *r = n < 2 && !one ? NULL : mmfpy_op_add(self, k.s, n < 2 ? one : args[1]);
    Py_XDECREF(one);
    mmfpy_key_done(&k);
    return r;
}

static PyObject *ns_wait(NsObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"key", "version", "timeout", NULL};
    PyObject *key, *version, *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|O:wait", kwlist, &key, &version, &timeout))
        return NULL;
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return NULL;
    PyObject *r = mmfpy_op_wait(self, k.s, version, timeout);
    mmfpy_key_done(&k);
    return r;
}

static PyObject *ns_var(NsObject *self, PyObject *key) {
    return mmfpy_var_new(self, key);
}

/* ---- the namespace as a whole ------------------------------------------- */

static PyObject *ns_lock(NsObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"timeout", NULL};
    PyObject *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:lock", kwlist, &timeout)) return NULL;
    return mmfpy_lock_new(self, timeout);
}

static PyObject *ns_unlock(NsObject *self, PyObject *unused) {
    (void)unused;
    mmf *h = mmfpy_enter(self);
    if (!h) return NULL;
    int rc = mmf_unlock(h);
    mmfpy_leave(self);
    if (rc) return mmfpy_raise(rc, NULL);
    Py_RETURN_NONE;
}

static const struct {
    const char *name;
    size_t off;
} stat_fields[] = {
#define F(f)                                                                                       \
    { #f, offsetof(mmf_stats, f) }
    F(size),     F(heap_size), F(heap_used),      F(heap_free),         F(largest_free_block),
    F(vars),     F(max_vars),  F(tombstones),     F(lock_acquisitions), F(lock_recoveries),
    F(attached), F(grows),     F(index_rebuilds), F(claim_takeovers),
#undef F
};

static PyObject *ns_stats(NsObject *self, PyObject *unused) {
    (void)unused;
    if (mmfpy_check_open(self) < 0) return NULL;
    mmf_stats st;
    int rc = mmf_stat(self->h, &st);
    if (rc) return mmfpy_raise(rc, NULL);
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < sizeof stat_fields / sizeof stat_fields[0]; i++) {
        uint64_t v;
        memcpy(&v, (const char *)&st + stat_fields[i].off, sizeof v);
        PyObject *o = PyLong_FromUnsignedLongLong(v);
        if (!o || PyDict_SetItemString(d, stat_fields[i].name, o) < 0) Py_CLEAR(d);
        Py_XDECREF(o);
    }
    return d;
}

/* Runs mmf_check or mmf_dump (which take the namespace lock) into a string. */
static int report(NsObject *self, int (*fn)(mmf *, FILE *), char **text, int *rc) {
    size_t len;
    *text = NULL;
    FILE *f = open_memstream(text, &len);
    if (!f) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    mmf *h = mmfpy_enter(self);
    if (h) {
        Py_BEGIN_ALLOW_THREADS *rc = fn(h, f);
        Py_END_ALLOW_THREADS mmfpy_leave(self);
    }
    fclose(f);
    if (!h || !*text) {
        free(*text);
        if (h) PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int check_fn(mmf *h, FILE *f) {
    return mmf_check(h, f);
}

static PyObject *ns_check(NsObject *self, PyObject *unused) {
    (void)unused;
    char *text;
    int rc;
    if (report(self, check_fn, &text, &rc) < 0) return NULL;
    PyObject *r = rc ? mmfpy_raise_detail(rc, text) : Py_NewRef(Py_True);
    free(text);
    return r;
}

static PyObject *ns_dump(NsObject *self, PyObject *unused) {
    (void)unused;
    char *text;
    int rc;
    if (report(self, mmf_dump, &text, &rc) < 0) return NULL;
    PyObject *r = rc ? mmfpy_raise(rc, NULL)
                     : PyUnicode_DecodeUTF8(text, (Py_ssize_t)strlen(text), "replace");
    free(text);
    return r;
}

static PyObject *ns_get_name(NsObject *self, void *unused) {
    (void)unused;
    return Py_NewRef(self->name ? self->name : Py_None);
}

static PyObject *ns_get_closed(NsObject *self, void *unused) {
    (void)unused;
    return PyBool_FromLong(self->h == NULL);
}

static PyMethodDef ns_methods[] = {
    {"from_spec", (PyCFunction)ns_from_spec, METH_O | METH_CLASS,
     "from_spec(spec) -> Namespace\n\nOpens the namespace described by a text spec, as the C "
     "library's mmf_open_spec:\n\"name=MyApp.Data size=4M path=data.swp reuse=1 autolock=0 "
     "timeout=10 mode=0600\".\nKeys are case-insensitive; sizes take K/M/G."},
    {"version", (PyCFunction)ns_version, METH_O,
     "version(key) -> int\n\nThe variable's 64-bit version: it changes on every write and "
     "never repeats for a key.\n0 when the variable is missing."},
    {"cas", (PyCFunction)(void (*)(void))ns_cas, METH_FASTCALL,
     "cas(key, version, value) -> bool\n\nCompare-and-set: sets key to value only if its "
     "version is still version\n(0: only if it is missing). False, changing nothing, when the "
     "version moved."},
    {"add", (PyCFunction)(void (*)(void))ns_add, METH_FASTCALL,
     "add(key, delta=1) -> int\n\nAtomically adds delta to the 64-bit signed counter in key and "
     "returns the new value.\nA missing variable counts as 0 and is created; the variable holds "
     "8 bytes, native-endian\n(ns[key] reads them as bytes: int.from_bytes(b, sys.byteorder, "
     "signed=True)).\nmmf.InvalidArgument if the variable is not 8 bytes long."},
    {"wait", (PyCFunction)(void (*)(void))ns_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(key, version, timeout=None) -> bool\n\nSleeps until the variable's version differs "
     "from version (a write, its creation or\nits deletion): True, or False when timeout "
     "seconds passed first. None waits for\never, 0 only looks. The GIL is released while it "
     "sleeps; Ctrl-C interrupts it."},
    {"var", (PyCFunction)ns_var, METH_O,
     "var(key) -> mmf.Var\n\nA handle on one variable (which need not exist yet): get, set, "
     "version, cas, add, wait."},
    {"lock", (PyCFunction)(void (*)(void))ns_lock, METH_VARARGS | METH_KEYWORDS,
     "lock(timeout=None) -> context manager\n\nTakes the namespace lock now (mmf.Timeout if it "
     "is not had within timeout seconds;\nNone waits for ever) and gives it back when the with "
     "block ends (or on .release()).\nWhile this thread holds it, writes from every other thread "
     "and process wait; reads go on.\nThe lock is recursive and belongs to the calling "
     "thread:\n\n    with ns.lock(timeout=1):\n        ns['a'] = 1\n        ns['b'] = 2"},
    {"unlock", (PyCFunction)ns_unlock, METH_NOARGS,
     "unlock()\n\nGives back the namespace lock taken with lock() (mmf.NotLocked if this thread "
     "does not hold it)."},
    {"stats", (PyCFunction)ns_stats, METH_NOARGS,
     "stats() -> dict\n\nSizes and counters (mmf_stats): size, heap_size, heap_used, heap_free, "
     "largest_free_block,\nvars, max_vars, tombstones, lock_acquisitions, lock_recoveries, "
     "attached, grows,\nindex_rebuilds, claim_takeovers. A snapshot, read without locking."},
    {"check", (PyCFunction)ns_check, METH_NOARGS,
     "check() -> True\n\nWalks the index and heap under the namespace lock; True, or "
     "mmf.Corrupt with the report."},
    {"dump", (PyCFunction)ns_dump, METH_NOARGS,
     "dump() -> str\n\nThe debug dump: header, heap blocks and free lists, the variable table."},
    {"close", (PyCFunction)ns_close, METH_NOARGS,
     "close()\n\nUnmaps this process's view; the namespace and its variables stay (mmf.unlink "
     "removes them).\nLater calls raise ValueError; calls under way in other threads finish "
     "first. Idempotent."},
    {"__enter__", (PyCFunction)ns_enter, METH_NOARGS, "Returns the namespace."},
    {"__exit__", (PyCFunction)(void (*)(void))ns_exit, METH_FASTCALL, "Closes the namespace."},
    {"__reduce__", (PyCFunction)ns_reduce, METH_NOARGS,
     "A namespace is not pickled: another process opens it by name."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef ns_getset[] = {
    {"name", (getter)ns_get_name, NULL, "The namespace's name.", NULL},
    {"closed", (getter)ns_get_closed, NULL, "True once close() was called.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject mmfpy_NamespaceType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mmf._mmf.Namespace",
    .tp_doc = "The C half of mmf.Namespace (which adds MutableMapping): use mmf.Namespace.",
    .tp_basicsize = sizeof(NsObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = ns_new,
    .tp_dealloc = (destructor)ns_dealloc,
    .tp_repr = (reprfunc)ns_repr,
    .tp_methods = ns_methods,
    .tp_getset = ns_getset,
    .tp_as_mapping = &mmfpy_as_mapping,
    .tp_as_sequence = &mmfpy_as_sequence,
    .tp_iter = (getiterfunc)mmfpy_ns_iter,
};

int mmfpy_namespace_ready(void) {
    /* the mapping's methods live in mapping.c: join both tables */
    size_t a = 0, b = 0;
    while (ns_methods[a].ml_name)
        a++;
    while (mmfpy_mapping_methods[b].ml_name)
        b++;
    PyMethodDef *all = PyMem_Calloc(a + b + 1, sizeof *all);
    if (!all) return -1;
    memcpy(all, ns_methods, a * sizeof *all);
    memcpy(all + a, mmfpy_mapping_methods, b * sizeof *all);
    mmfpy_NamespaceType.tp_methods = all;
    return PyType_Ready(&mmfpy_NamespaceType);
}
