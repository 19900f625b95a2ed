/*
 * What Namespace.lock() returns: the namespace lock, taken when it is made,
 * given back by __exit__ or release(). While held it keeps a reference on the
 * handle, so that a close() in another thread cannot unmap a namespace whose
 * lock this thread still holds.
 */
#include "pymmf.h"

typedef struct {
    PyObject_HEAD NsObject *ns;
    mmf *held; /* the handle while the lock is held, else NULL */
} LockObject;

PyObject *mmfpy_lock_new(NsObject *ns, PyObject *timeout) {
    double t;
    if (mmfpy_seconds(timeout, "timeout", -1, &t) < 0) return NULL;
    LockObject *self = PyObject_New(LockObject, &mmfpy_LockType);
    if (!self) return NULL;
    self->ns = (NsObject *)Py_NewRef(ns);
    self->held = NULL;
    mmf *h = mmfpy_enter(ns);
    int rc = MMF_OK;
    if (!h || mmfpy_lock_sliced(h, t, &rc) < 0 || rc) {
        if (h) mmfpy_leave(ns);
        if (h && rc) mmfpy_raise(rc, NULL);
        Py_DECREF(self);
        return NULL;
    }
    self->held = h;
    return (PyObject *)self;
}

static int release(LockObject *self) {
    mmf *h = self->held;
    if (!h) return 0;
    self->held = NULL;
    int rc = mmf_unlock(h);
    mmfpy_leave(self->ns);
    if (rc) {
        mmfpy_raise(rc, NULL);
        return -1;
    }
    return 0;
}

static void lock_dealloc(LockObject *self) {
    if (self->held) { /* dropped without release(): give it back */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (release(self) < 0) PyErr_WriteUnraisable((PyObject *)self);
        PyErr_Restore(type, value, tb);
    }
    Py_XDECREF(self->ns);
    PyObject_Free(self);
}

static PyObject *lock_enter(LockObject *self, PyObject *unused) {
    (void)unused;
    return Py_NewRef(self);
}

static PyObject *lock_exit(LockObject *self, PyObject *const *args, Py_ssize_t n) {
    (void)args;
    (void)n;
    if (release(self) < 0) return NULL;
    Py_RETURN_FALSE;
}

static PyObject *lock_release(LockObject *self, PyObject *unused) {
    (void)unused;
    if (release(self) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *lock_get_held(LockObject *self, void *unused) {
    (void)unused;
    return PyBool_FromLong(self->held != NULL);
}

static PyMethodDef lock_methods[] = {
    {"__enter__", (PyCFunction)lock_enter, METH_NOARGS, "The lock is already held: returns it."},
    {"__exit__", (PyCFunction)(void (*)(void))lock_exit, METH_FASTCALL,
     "Gives the namespace lock back."},
    {"release", (PyCFunction)lock_release, METH_NOARGS,
     "release()\n\nGives the namespace lock back (once; later calls do nothing)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef lock_getset[] = {
    {"held", (getter)lock_get_held, NULL, "True until the lock is given back.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject mmfpy_LockType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mmf._mmf.Lock",
    .tp_doc = "The namespace lock, held: what Namespace.lock() returns. Use it in a with "
              "statement,\nor call release().",
    .tp_basicsize = sizeof(LockObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)lock_dealloc,
    .tp_methods = lock_methods,
    .tp_getset = lock_getset,
};
