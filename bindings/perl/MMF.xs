/*
 * The C half of the Perl binding: thin calls into the public API, each
 * returning the library's code first. Handles travel as integers; MMF.pm
 * wraps them in objects and does the Perl-side policy (parameters,
 * Storable, croak or undef).
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmf.h"

static mmf *handle(pTHX_ IV h) {
    if (!h) croak("MMF: the namespace handle is closed");
    return INT2PTR(mmf *, h);
}

static const char *opt_str(pTHX_ SV *sv) {
    return SvOK(sv) ? SvPV_nolen(sv) : NULL;
}

/* names gathered by mmf_foreach, turned into Perl values after it */
struct collect {
    char **names;
    size_t n, cap;
};

static int collect_name(const char *key, const void *val, size_t len, uint64_t version,
                        void *ctx) {
    struct collect *c = ctx;
    (void)val, (void)len, (void)version;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        char **bigger = realloc(c->names, cap * sizeof *bigger);
        if (!bigger) return MMF_ENOSPC;
        c->names = bigger;
        c->cap = cap;
    }
    c->names[c->n] = strdup(key);
    if (!c->names[c->n]) return MMF_ENOSPC;
    c->n++;
    return 0;
}

/* runs fn(ns, FILE*) into a string */
static SV *captured(pTHX_ mmf *ns, int (*fn)(mmf *, FILE *), int *rc) {
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (!f) {
        *rc = MMF_ESYS;
        return newSVpvs("");
    }
    *rc = fn(ns, f);
    fclose(f);
    SV *sv = newSVpvn(text ? text : "", n);
    free(text);
    return sv;
}

MODULE = MMF    PACKAGE = MMF

PROTOTYPES: DISABLE

void
_open(name, path, size, reuse, autolock, timeout, debug)
        const char *name
        SV *path
        UV size
        int reuse
        int autolock
        NV timeout
        int debug
    PPCODE:
        mmf_options o = MMF_OPTIONS_INIT;
        mmf *ns = NULL;
        o.name = name;
        o.path = opt_str(aTHX_ path);
        o.size = size;
        o.reuse = reuse != 0;
        o.autolock = autolock != 0;
        o.timeout = timeout;
        o.debug = debug != 0;
        int rc = mmf_open(&o, &ns);
        mXPUSHi(rc);
        mXPUSHi(rc ? 0 : PTR2IV(ns));

int
_close(h)
        IV h
    CODE:
        RETVAL = mmf_close(handle(aTHX_ h));
    OUTPUT:
        RETVAL

int
_unlink(name, path)
        SV *name
        SV *path
    CODE:
        RETVAL = mmf_unlink(opt_str(aTHX_ name), opt_str(aTHX_ path));
    OUTPUT:
        RETVAL

const char *
_strerror(rc)
        int rc
    CODE:
        RETVAL = mmf_strerror(rc);
    OUTPUT:
        RETVAL

int
_set(h, key, val, tag)
        IV h
        const char *key
        SV *val
        int tag
    CODE:
        STRLEN len;
        const char *bytes = SvPVbyte(val, len);
        RETVAL = mmf_set_tagged(handle(aTHX_ h), key, bytes, len, (uint8_t)tag);
    OUTPUT:
        RETVAL

void
_get(h, key)
        IV h
        const char *key
    PPCODE:
        mmf *ns = handle(aTHX_ h);
        size_t cap = 256, len = 0;
        uint64_t version = 0;
        uint8_t tag = 0;
        SV *val = newSV(cap);
        int rc;
        for (;;) {
            rc = mmf_get_tagged(ns, key, SvPVX(val), cap, &len, &version, &tag);
            if (rc != MMF_ERANGE) break;
            cap = len; /* it may grow again before the next try */
            SvGROW(val, cap + 1);
        }
        if (rc == MMF_OK) {
            SvPOK_only(val);
            SvCUR_set(val, len);
            *SvEND(val) = '\0';
        }
        mXPUSHi(rc);
        if (rc == MMF_OK) {
            XPUSHs(sv_2mortal(val));
        } else {
            SvREFCNT_dec(val);
            XPUSHs(&PL_sv_undef);
        }
        mXPUSHu(version);
        mXPUSHi(tag);

int
_delete(h, key)
        IV h
        const char *key
    CODE:
        RETVAL = mmf_delete(handle(aTHX_ h), key);
    OUTPUT:
        RETVAL

int
_exists(h, key)
        IV h
        const char *key
    CODE:
        RETVAL = mmf_exists(handle(aTHX_ h), key);
    OUTPUT:
        RETVAL

int
_lock(h, timeout)
        IV h
        NV timeout
    CODE:
        RETVAL = mmf_lock(handle(aTHX_ h), timeout);
    OUTPUT:
        RETVAL

int
_unlock(h)
        IV h
    CODE:
        RETVAL = mmf_unlock(handle(aTHX_ h));
    OUTPUT:
        RETVAL

int
_cas(h, key, version, val, tag)
        IV h
        const char *key
        UV version
        SV *val
        int tag
    CODE:
        STRLEN len;
        const char *bytes = SvPVbyte(val, len);
        RETVAL = mmf_cas_tagged(handle(aTHX_ h), key, version, bytes, len, (uint8_t)tag);
    OUTPUT:
        RETVAL

void
_add(h, key, delta)
        IV h
        const char *key
        IV delta
    PPCODE:
        int64_t result = 0;
        int rc = mmf_add_i64(handle(aTHX_ h), key, (int64_t)delta, &result);
        mXPUSHi(rc);
        mXPUSHi((IV)result);

int
_wait(h, key, version, timeout)
        IV h
        const char *key
        UV version
        NV timeout
    CODE:
        RETVAL = mmf_wait(handle(aTHX_ h), key, version, timeout);
    OUTPUT:
        RETVAL

void
_keys(h)
        IV h
    PPCODE:
        struct collect c = {NULL, 0, 0};
        int rc = mmf_foreach(handle(aTHX_ h), collect_name, &c);
        AV *names = newAV();
        for (size_t i = 0; i < c.n; i++) {
            av_push(names, newSVpv(c.names[i], 0));
            free(c.names[i]);
        }
        free(c.names);
        mXPUSHi(rc);
        XPUSHs(sv_2mortal(newRV_noinc((SV *)names)));

void
_stat(h)
        IV h
    PPCODE:
        mmf_stats st;
        int rc = mmf_stat(handle(aTHX_ h), &st);
        HV *hv = newHV();
        if (!rc) {
            hv_stores(hv, "size", newSVuv(st.size));
            hv_stores(hv, "heap_size", newSVuv(st.heap_size));
            hv_stores(hv, "heap_used", newSVuv(st.heap_used));
            hv_stores(hv, "heap_free", newSVuv(st.heap_free));
            hv_stores(hv, "largest_free_block", newSVuv(st.largest_free_block));
            hv_stores(hv, "vars", newSVuv(st.vars));
            hv_stores(hv, "max_vars", newSVuv(st.max_vars));
            hv_stores(hv, "tombstones", newSVuv(st.tombstones));
            hv_stores(hv, "lock_acquisitions", newSVuv(st.lock_acquisitions));
            hv_stores(hv, "lock_recoveries", newSVuv(st.lock_recoveries));
        }
        mXPUSHi(rc);
        XPUSHs(sv_2mortal(newRV_noinc((SV *)hv)));

void
_check(h)
        IV h
    PPCODE:
        int rc;
        SV *report = captured(aTHX_ handle(aTHX_ h), mmf_check, &rc);
        mXPUSHi(rc);
        XPUSHs(sv_2mortal(report));

void
_dump(h)
        IV h
    PPCODE:
        int rc;
        SV *text = captured(aTHX_ handle(aTHX_ h), mmf_dump, &rc);
        mXPUSHi(rc);
        XPUSHs(sv_2mortal(text));
