/*
 * mmf.Var: a handle on one variable of a namespace (ns.var(key)).
 *
 * A Var calls the by-name functions with its key, resolved to UTF-8 once,
 * which the C contract says behave exactly as an mmf_var handle does. The C
 * handle calls (mmf_var_get / mmf_var_set) carry no value tag, and a Var
 * needs one to give back str and unpickled objects; when tagged handle calls
 * exist, only this file changes: var_new opens an mmf_var (kept next to
 * kbuf, closed in var_dealloc) and each method calls its mmf_var_* twin.
 */
#include "pymmf.h"

PyObject *mmfpy_var_new(NsObject *ns, PyObject *key) {
    if (mmfpy_check_open(ns) < 0) return NULL;
    mmfpy_key k;
    if (mmfpy_key_get(key, &k) < 0) return NULL;
    PyObject *kbuf = PyBytes_FromString(k.s);
    mmfpy_key_done(&k);
    if (!kbuf) return NULL;
    VarObject *self = PyObject_New(VarObject, &mmfpy_VarType);
    if (!self) {
        Py_DECREF(kbuf);
        return NULL;
    }
    self->ns = (NsObject *)Py_NewRef(ns);
    self->key = Py_NewRef(key);
    self->kbuf = kbuf;
    return (PyObject *)self;
}

static void var_dealloc(VarObject *self) {
    Py_XDECREF(self->ns);
    Py_XDECREF(self->key);
    Py_XDECREF(self->kbuf);
    PyObject_Free(self);
}

#define KEY(self) PyBytes_AS_STRING((self)->kbuf)

static PyObject *var_repr(VarObject *self) {
    return PyUnicode_FromFormat("<mmf.Var %R of %R>", self->key, (PyObject *)self->ns);
}

static PyObject *var_get(VarObject *self, PyObject *const *args, Py_ssize_t n) {
    if (n > 1) return PyErr_Format(PyExc_TypeError, "get() takes at most 1 argument");
    return mmfpy_op_get(self->ns, KEY(self), self->key, n ? args[0] : Py_None);
}

static PyObject *var_set(VarObject *self, PyObject *value) {
    if (mmfpy_op_set(self->ns, KEY(self), value) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *var_cas(VarObject *self, PyObject *const *args, Py_ssize_t n) {
    if (n != 2) return PyErr_Format(PyExc_TypeError, "cas() takes 2 arguments (%zd given)", n);
    return mmfpy_op_cas(self->ns, KEY(self), args[0], args[1]);
}

static PyObject *var_add(VarObject *self, PyObject *const *args, Py_ssize_t n) {
    if (n > 1) return PyErr_Format(PyExc_TypeError, "add() takes at most 1 argument");
    if (n) return mmfpy_op_add(self->ns, KEY(self), args[0]);
    PyObject *one = PyLong_FromLong(1);
    PyObject *r = one ? mmfpy_op_add(self->ns, KEY(self), one) : NULL;
    Py_XDECREF(one);
    return r;
}

static PyObject *var_wait(VarObject *self, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"version", "timeout", NULL};
    PyObject *version, *timeout = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:wait", kwlist, &version, &timeout)) return NULL;
    return mmfpy_op_wait(self->ns, KEY(self), version, timeout);
}

static PyObject *var_delete(VarObject *self, PyObject *unused) {
    (void)unused;
    if (mmfpy_op_delete(self->ns, KEY(self), self->key) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *var_get_version(VarObject *self, void *unused) {
    (void)unused;
    uint64_t v;
    if (mmfpy_op_version(self->ns, KEY(self), &v) < 0) return NULL;
    return PyLong_FromUnsignedLongLong(v);
}

static PyObject *var_get_key(VarObject *self, void *unused) {
    (void)unused;
    return Py_NewRef(self->key);
}

static PyObject *var_get_ns(VarObject *self, void *unused) {
    (void)unused;
    return Py_NewRef(self->ns);
}

static PyMethodDef var_methods[] = {
    {"get", (PyCFunction)(void (*)(void))var_get, METH_FASTCALL,
     "get(default=None)\n\nThe variable's value, or default when it does not exist."},
    {"set", (PyCFunction)var_set, METH_O,
     "set(value)\n\nWrites the value (bytes-like as they are, str as text, other objects "
     "pickled)."},
    {"cas", (PyCFunction)(void (*)(void))var_cas, METH_FASTCALL,
     "cas(version, value) -> bool\n\nSets the value only if the version is still version (0: "
     "only if missing); False otherwise."},
    {"add", (PyCFunction)(void (*)(void))var_add, METH_FASTCALL,
     "add(delta=1) -> int\n\nAtomically adds delta to the 64-bit counter and returns the new "
     "value."},
    {"wait", (PyCFunction)(void (*)(void))var_wait, METH_VARARGS | METH_KEYWORDS,
     "wait(version, timeout=None) -> bool\n\nSleeps until the version differs from version; "
     "False on timeout. Releases the GIL."},
    {"delete", (PyCFunction)var_delete, METH_NOARGS,
     "delete()\n\nRemoves the variable (KeyError if it does not exist); the handle stays "
     "usable."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef var_getset[] = {
    {"version", (getter)var_get_version, NULL,
     "The variable's version now (0 when it does not exist).", NULL},
    {"key", (getter)var_get_key, NULL, "The variable's name.", NULL},
    {"namespace", (getter)var_get_ns, NULL, "The Namespace it belongs to.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject mmfpy_VarType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mmf.Var",
    .tp_doc = "A handle on one variable, from Namespace.var(key); the variable need not exist.\n"
              "Each call behaves as the Namespace method on the same key at that moment:\n\n"
              "    v = ns.var('quote.EURUSD')\n    v.set(b'1.0876'); v.get(); v.version\n"
              "    v.cas(version, value); v.add(1); v.wait(version, timeout=1.0)",
    .tp_basicsize = sizeof(VarObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)var_dealloc,
    .tp_repr = (reprfunc)var_repr,
    .tp_methods = var_methods,
    .tp_getset = var_getset,
};
