/* A namespace handle's lifetime against close() in another thread (see pymmf.h). */
#include "pymmf.h"

int mmfpy_check_open(NsObject *ns) {
    if (ns->h) return 0;
    PyErr_SetString(PyExc_ValueError, "the namespace is closed");
    return -1;
}

mmf *mmfpy_enter(NsObject *ns) {
    if (mmfpy_check_open(ns) < 0) return NULL;
    ns->refs++;
    return ns->h;
}

void mmfpy_leave(NsObject *ns) {
    if (--ns->refs > 0) return;
    mmf *h = ns->live;
    ns->live = NULL;
    if (h) mmf_close(h);
}

void mmfpy_close(NsObject *ns) {
    if (!ns->h) return;
    ns->h = NULL;
    mmfpy_leave(ns); /* the object's own reference */
}
