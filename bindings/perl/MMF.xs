/*
 * The C half of the Perl binding: thin calls into the public API, each
 * returning the library's code first. Handles travel as integers; MMF.pm
 * wraps them in objects and does the Perl-side policy (parameters,
 * Storable, croak or undef).
 *
 * The hot path is here too: MMF::getvar, MMF::setvar and the tied
 * MMF::Shareable::FETCH / STORE are one XS call each for plain scalars,
 * and hand everything else (references, Storable, several values, errors)
 * to the Perl code in MMF.pm / MMF/Shareable.pm, which stays the reference.
 *
 * And the named POSIX semaphores of the functional interface
 * (CreateSemaphore, WaitForSingleObject, ReleaseSemaphore).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_OFD_SETLK */
#endif
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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


#ifndef G_LIST
#define G_LIST G_ARRAY
#endif

/* ---- the hot path ---- */

/* The view of an MMF object: $self->{h}. */
static mmf *self_ns(pTHX_ SV *self, const char *what) {
    SV **h;
    if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV)
        croak("MMF->%s: call it on an MMF object", what);
    h = hv_fetchs((HV *)SvRV(self), "h", 0);
    return handle(aTHX_ h ? SvIV(*h) : 0);
}

/* A variable name, checked as MMF.pm checks it. */
static const char *var_name(pTHX_ SV *name, const char *what) {
    STRLEN len;
    const char *s;
    SvGETMAGIC(name);
    if (!SvOK(name)) croak("MMF->%s: a variable name is needed", what);
    s = SvPV_nomg(name, len);
    if (len == 0) croak("MMF->%s: a variable name is needed", what);
    if (len > MMF_KEY_MAX) croak("MMF->%s: '%s' is longer than 255 bytes", what, s);
    return s;
}

/* A plain scalar the fast path stores as its bytes: defined, not a
   reference, no get-magic (a tied value is copied first, fetched once). */
static int plain(pTHX_ SV *v) {
    return !SvGMAGICAL(v) && SvOK(v) && !SvROK(v);
}

/* The value of key as a new SV holding its bytes, and its tag; NULL (and
   *rcp) if there is none or on error. */
static SV *get_value(pTHX_ mmf *ns, const char *key, uint8_t *tag, int *rcp) {
    char buf[512];
    size_t len = 0;
    uint64_t version;
    SV *val = NULL;
    int rc = mmf_get_tagged(ns, key, buf, sizeof buf, &len, &version, tag);
    if (rc == MMF_OK) return newSVpvn(buf, len);
    while (rc == MMF_ERANGE) { /* it may grow again before the next try */
        if (!val) val = newSV(len + 1);
        else SvGROW(val, len + 1);
        rc = mmf_get_tagged(ns, key, SvPVX(val), SvLEN(val) - 1, &len, &version, tag);
    }
    if (rc == MMF_OK) {
        SvPOK_only(val);
        SvCUR_set(val, len);
        *SvEND(val) = '\0';
        return val;
    }
    if (val) SvREFCNT_dec(val);
    *rcp = rc;
    return NULL;
}

/* The variable a tie object stands for: its label, or label{key} /
   label[i] for an element (the names MMF/Shareable.pm's _element makes).
   0 when the fast path cannot say (the Perl code then does it all). */
static int tied_key(pTHX_ HV *self, SV *elem, char *out, int *is_array) {
    SV **namep = hv_fetchs(self, "name", 0);
    SV **kindp = hv_fetchs(self, "kind", 0);
    STRLEN nlen, klen;
    const char *name, *k;
    if (!namep || !SvPOK(*namep)) return 0;
    name = SvPV_nomg(*namep, nlen);
    *is_array = 0;
    if (!kindp || !SvOK(*kindp)) {
        if (nlen == 0 || nlen > MMF_KEY_MAX) return 0;
        memcpy(out, name, nlen);
        out[nlen] = '\0';
        return 1;
    }
    if (!elem || SvGMAGICAL(elem) || !SvOK(elem)) return 0;
    if (SvPV_nolen_const(*kindp)[0] == 'a') { /* array: label[i] */
        if (!SvIOK(elem)) return 0;
        *is_array = 1;
        if (nlen + 2 + 24 > MMF_KEY_MAX) return 0;
        int n = snprintf(out, MMF_KEY_MAX + 1, "%.*s[%" IVdf "]", (int)nlen, name, SvIVX(elem));
        return n > 0 && n <= MMF_KEY_MAX;
    }
    k = SvPV_nomg(elem, klen); /* hash: label{key} */
    if (SvUTF8(elem) != SvUTF8(*namep) &&
        !(SvUTF8(elem) ? is_invariant_string((const U8 *)name, nlen)
                       : is_invariant_string((const U8 *)k, klen)))
        return 0; /* Perl would upgrade one of them first */
    if (nlen + klen + 2 > MMF_KEY_MAX || memchr(k, '\0', klen)) return 0;
    memcpy(out, name, nlen);
    out[nlen] = '{';
    memcpy(out + nlen + 1, k, klen);
    out[nlen + 1 + klen] = '}';
    out[nlen + 2 + klen] = '\0';
    return 1;
}

/* The view of a tie object: $self->{h}, 0 if it has none. */
static mmf *tied_ns(pTHX_ SV *self, HV **hv) {
    SV **h;
    if (!SvROK(self) || SvTYPE(SvRV(self)) != SVt_PVHV) return NULL;
    *hv = (HV *)SvRV(self);
    h = hv_fetchs(*hv, "h", 0);
    return h && SvIOK(*h) && SvIVX(*h) ? INT2PTR(mmf *, SvIVX(*h)) : NULL;
}

/* ---- named POSIX semaphores with the lifetime of Windows' ----
 * A semaphore is /dev/shm/sem.NAME (sem_open). Every handle holds a read
 * lock (an open-file-description lock, so handles in one process count
 * apart and no other close drops it) on that file: whoever finds no other
 * holder when opening starts it from its initial count (the last users
 * are gone: on Windows it would have vanished), and the last to close
 * removes it. */
struct msem {
    sem_t *sem;
    int fd;
    long max;
    char pname[256];
};

static int ofd_lock(int fd, short type, int wait) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

/* NULL with errno set on failure */
static struct msem *msem_open(const char *name, unsigned init, long max) {
    char path[300];
    struct msem *m;
    size_t n = strlen(name);
    if (n == 0 || n > 200 || strchr(name, '/')) {
        errno = EINVAL;
        return NULL;
    }
    m = calloc(1, sizeof *m);
    if (!m) return NULL;
    snprintf(m->pname, sizeof m->pname, "/%s", name);
    snprintf(path, sizeof path, "/dev/shm/sem.%s", name);
    m->max = max;
    for (int attempt = 0; attempt < 1000; attempt++) {
        struct stat a, b;
        int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            sem_t *s;
            if (errno != ENOENT) break;
            s = sem_open(m->pname, O_CREAT, 0600, init);
            if (s == SEM_FAILED) break;
            sem_close(s);
            continue;
        }
        while (ofd_lock(fd, F_RDLCK, 1) == -1) {
            if (errno != EINTR) {
                close(fd);
                free(m);
                return NULL;
            }
        }
        /* the last holder may have removed it meanwhile: then start again */
        if (fstat(fd, &a) == -1 || a.st_nlink == 0 || stat(path, &b) == -1 ||
            a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
            close(fd);
            continue;
        }
        m->sem = sem_open(m->pname, 0); /* cannot be removed while we hold the lock */
        if (m->sem == SEM_FAILED) {
            int e = errno;
            close(fd);
            free(m);
            errno = e;
            return NULL;
        }
        m->fd = fd;
        if (ofd_lock(fd, F_WRLCK, 0) == 0) { /* nobody else has it: a fresh start */
            while (sem_trywait(m->sem) == 0) {}
            for (unsigned i = 0; i < init; i++) sem_post(m->sem);
            ofd_lock(fd, F_RDLCK, 0);
        }
        return m;
    }
    {
        int e = errno ? errno : EAGAIN;
        free(m);
        errno = e;
    }
    return NULL;
}

/* owner: the process that opened it (a forked child shares its lock and
   must not take it for the last handle) */
static void msem_close(struct msem *m, int owner) {
    sem_close(m->sem);
    if (owner && ofd_lock(m->fd, F_WRLCK, 0) == 0) sem_unlink(m->pname); /* the last handle */
    close(m->fd);
    free(m);
}

MODULE = MMF    PACKAGE = MMF

PROTOTYPES: DISABLE

void
_open(name, path, size, reuse, autolock, timeout, debug, transient, max_size)
        const char *name
        SV *path
        UV size
        int reuse
        int autolock
        NV timeout
        int debug
        int transient
        UV max_size
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
        o.transient = transient != 0;
        o.max_size = max_size;
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
            hv_stores(hv, "attached", newSVuv(st.attached));
            hv_stores(hv, "grows", newSVuv(st.grows));
            hv_stores(hv, "index_rebuilds", newSVuv(st.index_rebuilds));
            hv_stores(hv, "claim_takeovers", newSVuv(st.claim_takeovers));
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

void
_sem_open(name, init, max)
        const char *name
        IV init
        IV max
    PPCODE:
        struct msem *m;
        if (init < 0 || max <= 0 || init > max || init > 100000000) {
            errno = EINVAL;
            XSRETURN_UNDEF;
        }
        m = msem_open(name, (unsigned)init, (long)max);
        if (!m) XSRETURN_UNDEF;
        mXPUSHi(PTR2IV(m));

int
_sem_wait(h, ms)
        IV h
        NV ms
    CODE:
        struct msem *m = INT2PTR(struct msem *, h);
        int r;
        if (!m) croak("MMF: the semaphore handle is closed");
        if (ms >= 4294967295.0) { /* INFINITE */
            while ((r = sem_wait(m->sem)) == -1 && errno == EINTR) PERL_ASYNC_CHECK();
        } else if (ms <= 0) {
            r = sem_trywait(m->sem);
        } else {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += (time_t)(ms / 1000);
            ts.tv_nsec += (long)((ms - 1000.0 * (double)(time_t)(ms / 1000)) * 1e6);
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            while ((r = sem_clockwait(m->sem, CLOCK_MONOTONIC, &ts)) == -1 && errno == EINTR)
                PERL_ASYNC_CHECK();
        }
        RETVAL = r == 0 ? 1 : (errno == ETIMEDOUT || errno == EAGAIN) ? 0 : -1;
    OUTPUT:
        RETVAL

int
_sem_post(h, n)
        IV h
        IV n
    CODE:
        struct msem *m = INT2PTR(struct msem *, h);
        int v = 0;
        if (!m) croak("MMF: the semaphore handle is closed");
        if (n <= 0 || (sem_getvalue(m->sem, &v) == 0 && (long)v + n > m->max)) {
            RETVAL = 0; /* as Windows: a release past the maximum count fails */
        } else {
            RETVAL = 1;
            for (IV i = 0; i < n; i++)
                if (sem_post(m->sem) == -1) RETVAL = 0;
        }
    OUTPUT:
        RETVAL

int
_sem_value(h)
        IV h
    CODE:
        struct msem *m = INT2PTR(struct msem *, h);
        int v = -1;
        if (!m) croak("MMF: the semaphore handle is closed");
        sem_getvalue(m->sem, &v);
        RETVAL = v;
    OUTPUT:
        RETVAL

void
_sem_close(h, owner)
        IV h
        int owner
    CODE:
        if (h) msem_close(INT2PTR(struct msem *, h), owner);

void
getvar(self, ...)
        SV *self
    PPCODE:
        mmf *ns = self_ns(aTHX_ self, "getvar");
        const char *key = var_name(aTHX_ items > 1 ? ST(1) : &PL_sv_undef, "getvar");
        uint8_t tag = 0;
        int rc = 0;
        U8 gimme = GIMME_V;
        SV *val = get_value(aTHX_ ns, key, &tag, &rc);
        if (!val) {
            if (gimme == G_LIST) XSRETURN_EMPTY;
            XSRETURN_UNDEF;
        }
        if (tag == MMF_TAG_BYTES) {
            ST(0) = sv_2mortal(val);
            XSRETURN(1);
        }
        PUSHMARK(SP);
        mXPUSHs(val);
        mXPUSHi(tag);
        PUTBACK;
        XSRETURN(call_pv("MMF::_decode_for", gimme == G_LIST ? G_LIST : G_SCALAR));

void
setvar(self, ...)
        SV *self
    PPCODE:
        if (items == 3 && SvGMAGICAL(ST(2)))
            ST(2) = sv_mortalcopy(ST(2)); /* a tied value: fetched once, here */
        if (items == 3 && plain(aTHX_ ST(2))) {
            mmf *ns = self_ns(aTHX_ self, "setvar");
            const char *key = var_name(aTHX_ ST(1), "setvar");
            STRLEN len;
            const char *bytes = SvPV_nomg(ST(2), len); /* characters as their UTF-8 bytes */
            int rc = mmf_set_tagged(ns, key, bytes, len, MMF_TAG_BYTES);
            if (rc == MMF_OK) XSRETURN_YES;
            PUSHMARK(SP);
            XPUSHs(self);
            mXPUSHp("setvar", 6);
            mXPUSHi(rc);
            mXPUSHi(0);
            PUTBACK;
            XSRETURN(call_method("_fail", G_SCALAR));
        }
        PUSHMARK(SP); /* references, several values, undef: the Perl code */
        SP += items;
        PUTBACK;
        XSRETURN(call_pv("MMF::_setvar_perl", G_SCALAR));

MODULE = MMF    PACKAGE = MMF::Shareable

void
FETCH(self, ...)
        SV *self
    PPCODE:
        HV *hv = NULL;
        mmf *ns = tied_ns(aTHX_ self, &hv);
        char key[MMF_KEY_MAX + 1];
        int is_array;
        if (ns && tied_key(aTHX_ hv, items > 1 ? ST(1) : NULL, key, &is_array)) {
            uint8_t tag = 0;
            int rc = 0;
            SV *val = get_value(aTHX_ ns, key, &tag, &rc);
            if (!val) XSRETURN_UNDEF;
            if (tag == MMF_TAG_BYTES) {
                ST(0) = sv_2mortal(val);
                XSRETURN(1);
            }
            PUSHMARK(SP);
            mXPUSHs(val);
            mXPUSHi(tag);
            PUTBACK;
            XSRETURN(call_pv("MMF::_decode_for", G_SCALAR));
        }
        PUSHMARK(SP);
        SP += items;
        PUTBACK;
        XSRETURN(call_pv("MMF::Shareable::_FETCH_perl", G_SCALAR));

void
STORE(self, ...)
        SV *self
    PPCODE:
        HV *hv = NULL;
        mmf *ns = tied_ns(aTHX_ self, &hv);
        char key[MMF_KEY_MAX + 1];
        int is_array;
        SV *val;
        if (items > 1 && SvGMAGICAL(ST(items - 1)))
            ST(items - 1) = sv_mortalcopy(ST(items - 1)); /* a tied value: fetched once */
        val = ST(items - 1);
        if (ns && (items == 2 || items == 3) && plain(aTHX_ val) &&
            tied_key(aTHX_ hv, items == 3 ? ST(1) : NULL, key, &is_array) && !is_array) {
            STRLEN len;
            const char *bytes = SvPV_nomg(val, len);
            if (mmf_set_tagged(ns, key, bytes, len, MMF_TAG_BYTES) == MMF_OK) XSRETURN_EMPTY;
        }
        PUSHMARK(SP); /* arrays (length, lock), references, undef, errors: the Perl code */
        SP += items;
        PUTBACK;
        call_pv("MMF::Shareable::_STORE_perl", G_DISCARD);
        XSRETURN_EMPTY;
