/*
 * Namespace as a mapping: ns[k], ns[k] = v, del ns[k], k in ns, len(ns),
 * iteration, keys(), items(), values(), get(). The package's Namespace adds
 * MutableMapping's other methods (pop, setdefault, update, clear, ...).
 * Listings are snapshots taken with mmf_foreach, without locking.
 */
#include "pymmf.h"

static PyObject *subscript(NsObject *self, PyObject *key) {
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return NULL;
    PyObject *r = mmfpy_op_get(self, k.s, key, NULL);
    mmfpy_key_done(&k);
    return r;
}

static int ass_subscript(NsObject *self, PyObject *key, PyObject *value) {
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return -1;
    int r = value ? mmfpy_op_set(self, k.s, value) : mmfpy_op_delete(self, k.s, key);
    mmfpy_key_done(&k);
    return r;
}

static Py_ssize_t length(NsObject *self) {
    if (mmfpy_check_open(self) < 0) return -1;
    mmf_stats st;
    int rc = mmf_stat(self->h, &st);
    if (rc) {
        mmfpy_raise(rc, NULL);
        return -1;
    }
    return (Py_ssize_t)st.vars;
}

static int contains(NsObject *self, PyObject *key) {
    if (mmfpy_check_open(self) < 0) return -1;
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return -1;
    int rc = mmf_exists(self->h, k.s);
    mmfpy_key_done(&k);
    if (rc < 0) {
        mmfpy_raise(rc, NULL);
        return -1;
    }
    return rc;
}

PyMappingMethods mmfpy_as_mapping = {
    .mp_length = (lenfunc)length,
    .mp_subscript = (binaryfunc)subscript,
    .mp_ass_subscript = (objobjargproc)ass_subscript,
};

PySequenceMethods mmfpy_as_sequence = {
    .sq_contains = (objobjproc)contains,
};

static int add_key(const char *key, const void *val, size_t len, uint64_t version, void *ctx) {
    (void)val;
    (void)len;
    (void)version;
    PyObject *k = mmfpy_key_decode(key);
    int rc = k ? PyList_Append((PyObject *)ctx, k) : -1;
    Py_XDECREF(k);
    return rc < 0 ? 1 : 0; /* 1 stops the walk: a Python exception is set */
}

/* The keys now, as a list of str. */
static PyObject *key_list(NsObject *self) {
    if (mmfpy_check_open(self) < 0) return NULL;
    PyObject *list = PyList_New(0);
    if (!list) return NULL;
    int rc = mmf_foreach(self->h, add_key, list);
    if (rc == 1) Py_CLEAR(list);
    if (rc < 0) {
        Py_CLEAR(list);
        mmfpy_raise(rc, NULL);
    }
    return list;
}

static PyObject *keys(NsObject *self, PyObject *unused) {
    (void)unused;
    return key_list(self);
}

PyObject *mmfpy_ns_iter(NsObject *self) {
    PyObject *list = key_list(self);
    if (!list) return NULL;
    PyObject *it = PyObject_GetIter(list);
    Py_DECREF(list);
    return it;
}

/* items (pairs) or values of the variables that still exist after the listing */
static PyObject *collect(NsObject *self, int pairs) {
    PyObject *names = key_list(self);
    if (!names) return NULL;
    PyObject *out = PyList_New(0), *missing = PyList_New(0); /* a unique marker */
    for (Py_ssize_t i = 0; out && missing && i < PyList_GET_SIZE(names); i++) {
        PyObject *key = PyList_GET_ITEM(names, i);
        mmfpy_key k;
        PyObject *v = NULL, *item = NULL;
        if (mmfpy_key_get(key, &k) == 0) {
            v = mmfpy_op_get(self, k.s, key, missing);
            mmfpy_key_done(&k);
        }
        if (!v) {
            Py_CLEAR(out);
            break;
        }
        if (v != missing) {
            item = pairs ? PyTuple_Pack(2, key, v) : Py_NewRef(v);
            if (!item || PyList_Append(out, item) < 0) Py_CLEAR(out);
            Py_XDECREF(item);
        }
        Py_DECREF(v);
    }
    Py_XDECREF(missing);
    Py_DECREF(names);
    return out;
}

static PyObject *items(NsObject *self, PyObject *unused) {
    (void)unused;
    return collect(self, 1);
}

static PyObject *values(NsObject *self, PyObject *unused) {
    (void)unused;
    return collect(self, 0);
}

static PyObject *get(NsObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"key", "default", NULL};
    PyObject *key, *dflt = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:get", kwlist, &key, &dflt)) return NULL;
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return NULL;
    PyObject *r = mmfpy_op_get(self, k.s, key, dflt);
    mmfpy_key_done(&k);
    return r;
}

PyMethodDef mmfpy_mapping_methods[] = {
    {"keys", (PyCFunction)keys, METH_NOARGS,
     "keys() -> list\n\nThe variables' names now (a snapshot, taken without locking)."},
    {"items", (PyCFunction)items, METH_NOARGS,
     "items() -> list\n\n(name, value) pairs now; a variable deleted while they are read is "
     "left out."},
    {"values", (PyCFunction)values, METH_NOARGS,
     "values() -> list\n\nThe variables' values now; a variable deleted while they are read is "
     "left out."},
    {"get", (PyCFunction)(void (*)(void))get, METH_VARARGS | METH_KEYWORDS,
     "get(key, default=None)\n\nThe value of key, or default when there is no such variable."},
    {NULL, NULL, 0, NULL},
};
