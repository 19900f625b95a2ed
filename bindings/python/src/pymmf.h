/*
 * The Python binding's shared declarations: the objects, and the helpers
 * each source file provides to the others.
 *
 * Threads: an mmf handle is thread-safe; what needs guarding is its
 * lifetime. Every call that keeps the GIL (the gets, exists, stats, foreach)
 * cannot race with close(), so it only checks that the namespace is open.
 * A call that releases the GIL (anything that may wait: set, cas, add,
 * delete, wait, lock, check, dump) first takes a reference on the handle
 * (mmfpy_enter), and close() only drops the object's own reference: whoever
 * drops the last one calls mmf_close (mmfpy_leave). The count is changed
 * only with the GIL held.
 */
#ifndef MMF_PYMMF_H
#define MMF_PYMMF_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include <mmf.h>

typedef struct {
    PyObject_HEAD mmf *h; /* NULL once closed: no new call may start */
    mmf *live;            /* the handle until its last reference is gone */
    Py_ssize_t refs;      /* the object's own (until close) + calls in flight */
    PyObject *name;       /* str, or NULL */
} NsObject;

typedef struct {
    PyObject_HEAD NsObject *ns;
    PyObject *key;  /* str, as given */
    PyObject *kbuf; /* bytes: the key's UTF-8, NUL-terminated */
} VarObject;

extern PyTypeObject mmfpy_NamespaceType, mmfpy_VarType, mmfpy_LockType;
extern PyMethodDef mmfpy_mapping_methods[];
extern PyMappingMethods mmfpy_as_mapping;
extern PySequenceMethods mmfpy_as_sequence;
PyObject *mmfpy_ns_iter(NsObject *self); /* mapping.c */
int mmfpy_namespace_ready(void);         /* namespace.c */

/* errors.c */
int mmfpy_errors_init(PyObject *module);
PyObject *mmfpy_raise(int rc, PyObject *what);            /* NULL, with the exception of rc set */
PyObject *mmfpy_raise_key(int rc, PyObject *key);         /* KeyError for MMF_ENOTFOUND */
PyObject *mmfpy_raise_detail(int rc, const char *detail); /* the message: strerror + detail */

/* convert.c: keys, values, numbers */
typedef struct {
    const char *s; /* NUL-terminated UTF-8 */
    PyObject *tmp; /* owned temporary, or NULL */
} mmfpy_key;
int mmfpy_key_get(PyObject *key, mmfpy_key *k); /* 0, or -1 with TypeError / ValueError */
static inline void mmfpy_key_done(mmfpy_key *k) {
    Py_XDECREF(k->tmp);
}
typedef struct {
    const void *p;
    size_t len;
    uint8_t tag;
    PyObject *tmp; /* owned: pickle output or a bytes copy */
    Py_buffer view;
    int has_view;
} mmfpy_value;
int mmfpy_value_get(PyObject *v, mmfpy_value *out); /* 0, or -1 */
void mmfpy_value_done(mmfpy_value *v);
PyObject *mmfpy_value_decode(const char *p, size_t len, uint8_t tag);
PyObject *mmfpy_value_decode_bytes(PyObject *bytes, uint8_t tag); /* steals bytes */
PyObject *mmfpy_key_decode(const char *s);
int mmfpy_u64(PyObject *o, const char *what, uint64_t *out);
int mmfpy_i64(PyObject *o, const char *what, int64_t *out);
/* seconds >= 0; None gives none_as; -1 with TypeError / ValueError */
int mmfpy_seconds(PyObject *o, const char *what, double none_as, double *out);

/* handle.c: lifetime */
int mmfpy_check_open(NsObject *ns); /* 0, or -1 with ValueError */
mmf *mmfpy_enter(NsObject *ns);     /* a referenced handle, or NULL with ValueError */
void mmfpy_leave(NsObject *ns);
void mmfpy_close(NsObject *ns);

/* ops.c: the operations on one key, shared by Namespace and Var */
PyObject *mmfpy_op_get(NsObject *ns, const char *key, PyObject *keyobj, PyObject *dflt);
int mmfpy_op_version(NsObject *ns, const char *key, uint64_t *version);
int mmfpy_op_set(NsObject *ns, const char *key, PyObject *value);
PyObject *mmfpy_op_cas(NsObject *ns, const char *key, PyObject *version, PyObject *value);
PyObject *mmfpy_op_add(NsObject *ns, const char *key, PyObject *delta);
PyObject *mmfpy_op_wait(NsObject *ns, const char *key, PyObject *version, PyObject *timeout);
int mmfpy_op_delete(NsObject *ns, const char *key, PyObject *keyobj);
/* mmf_wait or mmf_lock in slices, GIL released, signals checked between them */
/* timeout < 0: forever. 0 with *rc, or -1 with the exception a signal handler raised */
int mmfpy_wait_sliced(mmf *h, const char *key, uint64_t version, double timeout, int *rc);
int mmfpy_lock_sliced(mmf *h, double timeout, int *rc);

/* lockguard.c */
PyObject *mmfpy_lock_new(NsObject *ns, PyObject *timeout);

/* var.c */
PyObject *mmfpy_var_new(NsObject *ns, PyObject *key);

#endif
