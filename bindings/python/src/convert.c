/*
 * Keys, values and numbers between Python and the C library.
 *
 * Keys are str (UTF-8; lone surrogates as surrogateescape, so that keys read
 * back from the namespace round-trip) or bytes: 1..MMF_KEY_MAX bytes, no NUL.
 * Values: bytes, bytearray and memoryview are stored as their bytes (tag
 * BYTES); str as UTF-8 (tag TEXT); anything else pickled (tag PICKLE).
 * Reading: TEXT gives str, PICKLE the unpickled object, every other tag
 * (BYTES, Perl's STORABLE and STORABLE_LIST, tags from the future) bytes.
 */
#include <math.h>
#include <string.h>

#include "pymmf.h"

static PyObject *pickle_dumps, *pickle_loads; /* looked up once, on first use */

static int pickle_load_module(void) {
    if (pickle_loads) return 0;
    PyObject *mod = PyImport_ImportModule("pickle");
    if (!mod) return -1;
    pickle_dumps = PyObject_GetAttrString(mod, "dumps");
    pickle_loads = PyObject_GetAttrString(mod, "loads");
    Py_DECREF(mod);
    if (!pickle_dumps || !pickle_loads) {
        Py_CLEAR(pickle_dumps);
        Py_CLEAR(pickle_loads);
        return -1;
    }
    return 0;
}

static int key_check(const char *s, Py_ssize_t len) {
    if (len < 1 || len > MMF_KEY_MAX) {
        PyErr_Format(PyExc_ValueError, "a key is 1..%d bytes of UTF-8, not %zd", MMF_KEY_MAX, len);
        return -1;
    }
    if (memchr(s, 0, (size_t)len)) {
        PyErr_SetString(PyExc_ValueError, "a key cannot contain a NUL character");
        return -1;
    }
    return 0;
}

int mmfpy_key_get(PyObject *key, mmfpy_key *k) {
    k->tmp = NULL;
    Py_ssize_t len;
    if (PyUnicode_Check(key)) {
        if (PyUnicode_IS_COMPACT_ASCII(key)) { /* the common case: no conversion at all */
            k->s = (const char *)PyUnicode_DATA(key);
            len = PyUnicode_GET_LENGTH(key);
        } else {
            k->s = PyUnicode_AsUTF8AndSize(key, &len);
            if (!k->s) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return -1;
                PyErr_Clear();
                k->tmp = PyUnicode_AsEncodedString(key, "utf-8", "surrogateescape");
                if (!k->tmp) return -1;
                k->s = PyBytes_AS_STRING(k->tmp);
                len = PyBytes_GET_SIZE(k->tmp);
            }
        }
    } else if (PyBytes_Check(key)) {
        k->s = PyBytes_AS_STRING(key);
        len = PyBytes_GET_SIZE(key);
    } else {
        PyErr_Format(PyExc_TypeError, "a key is a str or bytes, not %.100s", Py_TYPE(key)->tp_name);
        return -1;
    }
    if (key_check(k->s, len) < 0) {
        Py_CLEAR(k->tmp);
        return -1;
    }
    return 0;
}

PyObject *mmfpy_key_decode(const char *s) {
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "surrogateescape");
}

int mmfpy_value_get(PyObject *v, mmfpy_value *out) {
    out->tmp = NULL;
    out->has_view = 0;
    if (PyBytes_Check(v)) {
        out->p = PyBytes_AS_STRING(v);
        out->len = (size_t)PyBytes_GET_SIZE(v);
        out->tag = MMF_TAG_BYTES;
        return 0;
    }
    if (PyUnicode_Check(v)) {
        Py_ssize_t len;
        out->p = PyUnicode_AsUTF8AndSize(v, &len); /* lone surrogates: UnicodeEncodeError */
        if (!out->p) return -1;
        out->len = (size_t)len;
        out->tag = MMF_TAG_TEXT;
        return 0;
    }
    if (PyByteArray_Check(v) || PyMemoryView_Check(v)) {
        out->tag = MMF_TAG_BYTES;
        if (PyObject_GetBuffer(v, &out->view, PyBUF_SIMPLE) == 0) {
            out->has_view = 1;
            out->p = out->view.buf;
            out->len = (size_t)out->view.len;
            return 0;
        }
        PyErr_Clear(); /* a memoryview that is not contiguous: its bytes, copied */
        out->tmp = PyBytes_FromObject(v);
    } else {
        if (pickle_load_module() < 0) return -1;
        out->tag = MMF_TAG_PICKLE;
        out->tmp = PyObject_CallOneArg(pickle_dumps, v);
        if (out->tmp && !PyBytes_Check(out->tmp)) {
            Py_CLEAR(out->tmp);
            PyErr_SetString(PyExc_TypeError, "pickle.dumps did not return bytes");
        }
    }
    if (!out->tmp) return -1;
    out->p = PyBytes_AS_STRING(out->tmp);
    out->len = (size_t)PyBytes_GET_SIZE(out->tmp);
    return 0;
}

void mmfpy_value_done(mmfpy_value *v) {
    if (v->has_view) PyBuffer_Release(&v->view);
    v->has_view = 0;
    Py_CLEAR(v->tmp);
}

static PyObject *unpickle(PyObject *bytes) {
    if (pickle_load_module() < 0) return NULL;
    return PyObject_CallOneArg(pickle_loads, bytes);
}

PyObject *mmfpy_value_decode(const char *p, size_t len, uint8_t tag) {
    if (tag == MMF_TAG_TEXT) return PyUnicode_DecodeUTF8(p, (Py_ssize_t)len, "surrogateescape");
    PyObject *b = PyBytes_FromStringAndSize(p, (Py_ssize_t)len);
    if (!b || tag != MMF_TAG_PICKLE) return b;
    PyObject *r = unpickle(b);
    Py_DECREF(b);
    return r;
}

PyObject *mmfpy_value_decode_bytes(PyObject *b, uint8_t tag) {
    PyObject *r;
    if (tag == MMF_TAG_TEXT)
        r = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b), "surrogateescape");
    else if (tag == MMF_TAG_PICKLE)
        r = unpickle(b);
    else
        return b;
    Py_DECREF(b);
    return r;
}

static int int_arg(PyObject *o, const char *what) {
    if (PyLong_Check(o)) return 0;
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(o)->tp_name);
    return -1;
}

int mmfpy_u64(PyObject *o, const char *what, uint64_t *out) {
    if (int_arg(o, what) < 0) return -1;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(o);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "%s must be in 0..2**64-1", what);
            return -1;
        }
        *out = u;
        return 0;
    }
    if (overflow < 0 || v < 0) {
        PyErr_Format(PyExc_ValueError, "%s must be in 0..2**64-1", what);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int mmfpy_i64(PyObject *o, const char *what, int64_t *out) {
    if (int_arg(o, what) < 0) return -1;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    if (overflow) {
        PyErr_Format(PyExc_ValueError, "%s must be in -2**63..2**63-1", what);
        return -1;
    }
    *out = v;
    return 0;
}

int mmfpy_seconds(PyObject *o, const char *what, double none_as, double *out) {
    if (!o || o == Py_None) {
        *out = none_as;
        return 0;
    }
    if (!PyFloat_Check(o) && !PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be a number of seconds or None, not %.100s", what,
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    double d = PyFloat_AsDouble(o);
    if (d == -1.0 && PyErr_Occurred()) return -1;
    if (!(d >= 0)) {
        PyErr_Format(PyExc_ValueError, "%s must be a number of seconds >= 0", what);
        return -1;
    }
    *out = isinf(d) ? none_as : d; /* infinity: as long as None */
    return 0;
}
