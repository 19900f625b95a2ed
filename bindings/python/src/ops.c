/*
 * The operations on one variable, by name: what Namespace's methods and
 * Var's call. Reads keep the GIL (they never wait for the lock); every call
 * that may wait releases it, holding a reference on the handle.
 */
#include <time.h>

#include "pymmf.h"

#define STACK_VALUE 512 /* values up to this size are read without a heap buffer */
#define SLICE 0.5       /* seconds a wait sleeps between checks for signals (Ctrl-C) */

PyObject *mmfpy_op_get(NsObject *ns, const char *key, PyObject *keyobj, PyObject *dflt) {
    if (mmfpy_check_open(ns) < 0) return NULL;
    char buf[STACK_VALUE];
    size_t len;
    uint64_t ver;
    uint8_t tag;
    int rc = mmf_get_tagged(ns->h, key, buf, sizeof buf, &len, &ver, &tag);
    if (rc == MMF_OK) return mmfpy_value_decode(buf, len, tag);
    while (rc == MMF_ERANGE) { /* read into a bytes object of the size; it may change again */
        PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
        if (!b) return NULL;
        size_t got;
        rc = mmf_get_tagged(ns->h, key, PyBytes_AS_STRING(b), len, &got, &ver, &tag);
        if (rc == MMF_OK) {
            if (got < len && _PyBytes_Resize(&b, (Py_ssize_t)got) < 0) return NULL;
            return mmfpy_value_decode_bytes(b, tag);
        }
        Py_DECREF(b);
        len = got;
    }
    if (rc == MMF_ENOTFOUND && dflt) return Py_NewRef(dflt);
    return mmfpy_raise_key(rc, keyobj);
}

int mmfpy_op_version(NsObject *ns, const char *key, uint64_t *version) {
    if (mmfpy_check_open(ns) < 0) return -1;
    size_t len;
    uint8_t tag;
    int rc = mmf_get_tagged(ns->h, key, NULL, 0, &len, version, &tag);
    if (rc == MMF_OK || rc == MMF_ERANGE || rc == MMF_ENOTFOUND) return 0; /* missing: 0 */
    mmfpy_raise(rc, NULL);
    return -1;
}

int mmfpy_op_set(NsObject *ns, const char *key, PyObject *value) {
    mmfpy_value v;
    if (mmfpy_value_get(value, &v) < 0) return -1; /* pickling runs Python code: first */
    mmf *h = mmfpy_enter(ns);
    int rc = MMF_OK;
    if (h) {
        Py_BEGIN_ALLOW_THREADS rc = mmf_set_tagged(h, key, v.p, v.len, v.tag);
        Py_END_ALLOW_THREADS mmfpy_leave(ns);
    }
    mmfpy_value_done(&v);
    if (!h) return -1;
    if (rc) {
        mmfpy_raise(rc, NULL);
        return -1;
    }
    return 0;
}

PyObject *mmfpy_op_cas(NsObject *ns, const char *key, PyObject *version, PyObject *value) {
    uint64_t expected;
    if (mmfpy_u64(version, "version", &expected) < 0) return NULL;
    mmfpy_value v;
    if (mmfpy_value_get(value, &v) < 0) return NULL;
    mmf *h = mmfpy_enter(ns);
    int rc = MMF_OK;
    if (h) {
        Py_BEGIN_ALLOW_THREADS rc = mmf_cas_tagged(h, key, expected, v.p, v.len, v.tag);
        Py_END_ALLOW_THREADS mmfpy_leave(ns);
    }
    mmfpy_value_done(&v);
    if (!h) return NULL;
    if (rc == MMF_ECONFLICT) Py_RETURN_FALSE;
    if (rc) return mmfpy_raise(rc, NULL);
    Py_RETURN_TRUE;
}

PyObject *mmfpy_op_add(NsObject *ns, const char *key, PyObject *delta) {
    int64_t d, sum = 0;
    if (mmfpy_i64(delta, "delta", &d) < 0) return NULL;
    mmf *h = mmfpy_enter(ns);
    if (!h) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = mmf_add_i64(h, key, d, &sum);
    Py_END_ALLOW_THREADS mmfpy_leave(ns);
    if (rc) return mmfpy_raise(rc, NULL);
    return PyLong_FromLongLong(sum);
}

int mmfpy_op_delete(NsObject *ns, const char *key, PyObject *keyobj) {
    mmf *h = mmfpy_enter(ns);
    if (!h) return -1;
    int rc;
    Py_BEGIN_ALLOW_THREADS rc = mmf_delete(h, key);
    Py_END_ALLOW_THREADS mmfpy_leave(ns);
    if (rc) {
        mmfpy_raise_key(rc, keyobj);
        return -1;
    }
    return 0;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Calls wait_once (mmf_wait or mmf_lock) in slices of at most SLICE seconds
   until it returns something other than MMF_ETIMEDOUT or timeout (< 0:
   forever) has passed; between slices Python's signal handlers run (Ctrl-C).
   0 with *rc, or -1 with the handler's exception. */
typedef int (*wait_once_fn)(mmf *h, const char *key, uint64_t version, double t);

static int sliced(mmf *h, const char *key, uint64_t version, double timeout, wait_once_fn fn,
                  int *rc) {
    double end = timeout < 0 ? 0 : now() + timeout;
    for (;;) {
        double t = SLICE;
        if (timeout >= 0) {
            t = end - now();
            if (t > SLICE) t = SLICE;
            if (t < 1e-6) t = 1e-6; /* 0 would mean forever to the C library */
        }
        int r;
        Py_BEGIN_ALLOW_THREADS r = fn(h, key, version, t);
        Py_END_ALLOW_THREADS if (r != MMF_ETIMEDOUT || (timeout >= 0 && now() >= end)) {
            *rc = r;
            return 0;
        }
        if (PyErr_CheckSignals() < 0) return -1;
    }
}

static int wait_once(mmf *h, const char *key, uint64_t version, double t) {
    return mmf_wait(h, key, version, t);
}

static int lock_once(mmf *h, const char *key, uint64_t version, double t) {
    (void)key;
    (void)version;
    return mmf_lock(h, t);
}

int mmfpy_wait_sliced(mmf *h, const char *key, uint64_t version, double timeout, int *rc) {
    return sliced(h, key, version, timeout, wait_once, rc);
}

int mmfpy_lock_sliced(mmf *h, double timeout, int *rc) {
    return sliced(h, NULL, 0, timeout, lock_once, rc);
}

PyObject *mmfpy_op_wait(NsObject *ns, const char *key, PyObject *version, PyObject *timeout) {
    uint64_t ver, now_ver;
    double t;
    if (mmfpy_u64(version, "version", &ver) < 0) return NULL;
    if (mmfpy_seconds(timeout, "timeout", -1, &t) < 0) return NULL;
    if (t == 0) { /* no waiting: has it changed already? */
        if (mmfpy_op_version(ns, key, &now_ver) < 0) return NULL;
        return PyBool_FromLong(now_ver != ver);
    }
    mmf *h = mmfpy_enter(ns);
    if (!h) return NULL;
    int rc, err = mmfpy_wait_sliced(h, key, ver, t, &rc);
    mmfpy_leave(ns);
    if (err < 0) return NULL;
    if (rc == MMF_ETIMEDOUT) Py_RETURN_FALSE;
    if (rc) return mmfpy_raise(rc, NULL);
    Py_RETURN_TRUE;
}
