/* The extension module mmf._mmf: its types, exceptions and functions. The
   package mmf (mmf/__init__.py) re-exports them. */
#include "pymmf.h"

static PyObject *mod_unlink(PyObject *mod, PyObject *args, PyObject *kw) {
    (void)mod;
    static char *kwlist[] = {"name", "path", NULL};
    PyObject *name = Py_None, *path = Py_None, *bname = NULL, *bpath = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|O:unlink", kwlist, &name, &path)) return NULL;
    if (name == Py_None && path == Py_None)
        return PyErr_Format(PyExc_TypeError, "unlink() needs a name or a path");
    if (name != Py_None && !PyUnicode_Check(name))
        return PyErr_Format(PyExc_TypeError, "name must be a str, not %.100s",
                            Py_TYPE(name)->tp_name);
    if (name != Py_None && !PyUnicode_FSConverter(name, &bname)) return NULL;
    if (path != Py_None && !PyUnicode_FSConverter(path, &bpath)) {
        Py_XDECREF(bname);
        return NULL;
    }
    const char *n = bname ? PyBytes_AS_STRING(bname) : NULL;
    const char *p = bpath ? PyBytes_AS_STRING(bpath) : NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = mmf_unlink(n, p);
    Py_END_ALLOW_THREADS Py_XDECREF(bname);
    Py_XDECREF(bpath);
    if (rc) return mmfpy_raise(rc, path != Py_None ? path : name);
    Py_RETURN_NONE;
}

static PyObject *mod_strerror(PyObject *mod, PyObject *arg) {
    (void)mod;
    int overflow;
    long code = PyLong_Check(arg) ? PyLong_AsLongAndOverflow(arg, &overflow) : 0;
    if (!PyLong_Check(arg)) return PyErr_Format(PyExc_TypeError, "a code is an int");
    if (code == -1 && PyErr_Occurred()) return NULL;
    return PyUnicode_FromString(mmf_strerror(overflow ? 1 : (int)code));
}

static PyMethodDef mod_methods[] = {
    {"unlink", (PyCFunction)(void (*)(void))mod_unlink, METH_VARARGS | METH_KEYWORDS,
     "unlink(name, path=None)\n\nRemoves the namespace: the POSIX shared-memory object name, "
     "or the backing file path\n(name may then be None). Views open elsewhere keep working until "
     "closed.\nmmf.NotFound if there is none."},
    {"strerror", (PyCFunction)mod_strerror, METH_O,
     "strerror(code) -> str\n\nThe C library's description of an MMF_E* code (Error.code)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef mod_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "mmf._mmf",
    .m_doc = "The C extension under the package mmf; use the package.",
    .m_size = -1,
    .m_methods = mod_methods,
};

static const struct {
    const char *name;
    int value;
} constants[] = {
    {"TAG_BYTES", MMF_TAG_BYTES},
    {"TAG_STORABLE", MMF_TAG_STORABLE},
    {"TAG_STORABLE_LIST", MMF_TAG_STORABLE_LIST},
    {"TAG_TEXT", MMF_TAG_TEXT},
    {"TAG_PICKLE", MMF_TAG_PICKLE},
    {"KEY_MAX", MMF_KEY_MAX},
    {"NAME_MAX", MMF_NAME_MAX},
    {"DEFAULT_SIZE", (int)MMF_DEFAULT_SIZE},
};

PyMODINIT_FUNC PyInit__mmf(void) {
    if (mmfpy_namespace_ready() < 0 || PyType_Ready(&mmfpy_VarType) < 0 ||
        PyType_Ready(&mmfpy_LockType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&mod_def);
    if (!m) return NULL;
    if (mmfpy_errors_init(m) < 0 ||
        PyModule_AddObjectRef(m, "Namespace", (PyObject *)&mmfpy_NamespaceType) < 0 ||
        PyModule_AddObjectRef(m, "Var", (PyObject *)&mmfpy_VarType) < 0 ||
        PyModule_AddObjectRef(m, "Lock", (PyObject *)&mmfpy_LockType) < 0 ||
        PyModule_AddStringConstant(m, "__version__", mmf_version()) < 0)
        goto fail;
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0) goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
