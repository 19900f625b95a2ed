/* The exception classes, and an mmf error code turned into the right one. */
#include "pymmf.h"

static PyObject *Error, *NotFound, *Exists, *NoSpace, *Timeout, *Corrupt, *PermissionDenied,
    *InvalidArgument, *NotLocked;

static PyObject *new_class(PyObject *module, const char *name, const char *doc, PyObject *base1,
                           PyObject *base2) {
    PyObject *bases = base2 ? PyTuple_Pack(2, base1, base2) : PyTuple_Pack(1, base1);
    if (!bases) return NULL;
    char full[64];
    snprintf(full, sizeof full, "mmf.%s", name);
    PyObject *cls = PyErr_NewExceptionWithDoc(full, doc, bases, NULL);
    Py_DECREF(bases);
    if (cls && PyModule_AddObjectRef(module, name, cls) < 0) Py_CLEAR(cls);
    return cls;
}

int mmfpy_errors_init(PyObject *m) {
    Error = new_class(m, "Error",
                      "Base of mmf's exceptions. .code is the C library's MMF_E* code "
                      "(a negative int).",
                      PyExc_Exception, NULL);
    if (!Error || PyObject_SetAttrString(Error, "code", Py_None) < 0) return -1;
    NotFound =
        new_class(m, "NotFound", "No such namespace (MMF_ENOENT).", Error, PyExc_FileNotFoundError);
    Exists = new_class(m, "Exists", "The namespace exists already (MMF_EEXIST, exclusive=True).",
                       Error, PyExc_FileExistsError);
    NoSpace = new_class(m, "NoSpace",
                        "The namespace's heap or index is full (MMF_ENOSPC); "
                        "nothing was changed.",
                        Error, NULL);
    Timeout = new_class(m, "Timeout", "The namespace lock was not had in time (MMF_ETIMEDOUT).",
                        Error, PyExc_TimeoutError);
    Corrupt = new_class(m, "Corrupt",
                        "The mapping failed validation (MMF_ECORRUPT, or "
                        "MMF_EVERSION: another layout version).",
                        Error, NULL);
    PermissionDenied = new_class(m, "PermissionDenied",
                                 "Permission denied by the OS, or a write "
                                 "through a read-only namespace (MMF_EPERM).",
                                 Error, PyExc_PermissionError);
    InvalidArgument = new_class(m, "InvalidArgument",
                                "The C library refused an argument "
                                "(MMF_EINVAL), e.g. a bad namespace name, or add() on a "
                                "variable that is not 8 bytes long.",
                                Error, PyExc_ValueError);
    NotLocked = new_class(m, "NotLocked",
                          "autolock is off and this thread does not hold the "
                          "namespace lock (MMF_ENOLOCK).",
                          Error, NULL);
    if (!NotFound || !Exists || !NoSpace || !Timeout || !Corrupt || !PermissionDenied ||
        !InvalidArgument || !NotLocked)
        return -1;
    return 0;
}

static PyObject *raise_msg(int rc, PyObject *msg);

PyObject *mmfpy_raise(int rc, PyObject *what) {
    PyObject *msg = what ? PyUnicode_FromFormat("%s: %R", mmf_strerror(rc), what)
                         : PyUnicode_FromString(mmf_strerror(rc));
    return msg ? raise_msg(rc, msg) : NULL;
}

PyObject *mmfpy_raise_detail(int rc, const char *detail) {
    PyObject *msg = PyUnicode_FromFormat("%s\n%s", mmf_strerror(rc), detail);
    return msg ? raise_msg(rc, msg) : NULL;
}

/* steals msg */
static PyObject *raise_msg(int rc, PyObject *msg) {
    PyObject *cls;
    switch (rc) {
    case MMF_ENOENT:
        cls = NotFound;
        break;
    case MMF_EEXIST:
        cls = Exists;
        break;
    case MMF_ENOSPC:
        cls = NoSpace;
        break;
    case MMF_ETIMEDOUT:
        cls = Timeout;
        break;
    case MMF_ECORRUPT:
    case MMF_EVERSION:
        cls = Corrupt;
        break;
    case MMF_EPERM:
        cls = PermissionDenied;
        break;
    case MMF_EINVAL:
        cls = InvalidArgument;
        break;
    case MMF_ENOLOCK:
        cls = NotLocked;
        break;
    case MMF_ENOMEM:
        Py_DECREF(msg);
        return PyErr_NoMemory();
    default:
        cls = Error;
        break;
    }
    PyObject *exc = PyObject_CallOneArg(cls, msg);
    Py_DECREF(msg);
    if (!exc) return NULL;
    PyObject *code = PyLong_FromLong(rc);
    if (code && PyObject_SetAttrString(exc, "code", code) == 0) PyErr_SetObject(cls, exc);
    Py_XDECREF(code);
    Py_DECREF(exc);
    return NULL;
}

PyObject *mmfpy_raise_key(int rc, PyObject *key) {
    if (rc == MMF_ENOTFOUND) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return mmfpy_raise(rc, key);
}
