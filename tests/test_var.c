/* Variable handles in one process: every access through a handle is what the
   by-name call on its key gives at that moment, across deletes,
   re-creations (other sizes, other slots), slot reuse by other keys, and
   threads sharing one handle; bad arguments are refused and change nothing. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "testutil.h"

static mmf *ns;
static char nsname[96];

static void setup(uint32_t max_vars) {
    ns = fresh(unique_name(nsname, sizeof nsname, "var"), 8u << 20, max_vars);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
}

/* A namespace that never grows (max_size = size): its slots can fill up. */
static void setup_fixed(uint32_t max_vars) {
    ns = fresh_fixed(unique_name(nsname, sizeof nsname, "var"), 8u << 20, max_vars);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
}

static void teardown(void) {
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

/* The handle and the by-name call agree: same code, length, value, version. */
static int agrees(mmf_var *v, const char *key) {
    char a[512], b[512];
    size_t la = 0, lb = 0;
    uint64_t va = 1, vb = 2;
    int ra = mmf_var_get(v, a, sizeof a, &la, &va);
    int rb = mmf_get_v(ns, key, b, sizeof b, &lb, &vb);
    if (ra != rb || va != vb) return 0;
    if (ra == MMF_OK && (la != lb || memcmp(a, b, la))) return 0;
    return 1;
}

static void test_bad_arguments(void) {
    setup(64);
    mmf_var *v = (mmf_var *)&v;
    CU_ASSERT_EQUAL(mmf_var_open(NULL, "k", &v), MMF_EINVAL);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_EQUAL(mmf_var_open(ns, NULL, &v), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_open(ns, "", &v), MMF_EINVAL);
    char longkey[300];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    CU_ASSERT_EQUAL(mmf_var_open(ns, longkey, &v), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_open(ns, "k", NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "k", &v), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_set(v, "one", 3), MMF_OK);
    char buf[8];
    size_t len;
    uint64_t ver;
    CU_ASSERT_EQUAL(mmf_var_get(NULL, buf, sizeof buf, &len, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, NULL, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_get(v, NULL, 4, &len, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_set(NULL, "x", 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_set(v, NULL, 5), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_cas(NULL, 0, "x", 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_cas(v, 1, NULL, 2), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_add_i64(NULL, 1, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_add_i64(v, 1, NULL), MMF_EINVAL); /* 3 bytes: not a counter */
    CU_ASSERT_EQUAL(mmf_var_wait(NULL, 0, 0.01), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_var_wait(v, 0, -1), MMF_EINVAL);
    /* nothing changed */
    CU_ASSERT_EQUAL(mmf_get_v(ns, "k", buf, sizeof buf, &len, &ver), MMF_OK);
    CU_ASSERT(len == 3 && !memcmp(buf, "one", 3));
    CU_ASSERT_EQUAL(mmf_var_get(v, NULL, 0, &len, NULL), MMF_ERANGE);
    CU_ASSERT_EQUAL(len, 3);
    mmf_var_close(v);
    mmf_var_close(NULL);
    teardown();
}

static void test_missing_then_created(void) {
    setup(64);
    mmf_var *v;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "later", &v), MMF_OK);
    char buf[16];
    size_t len;
    uint64_t ver = 7;
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &ver), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(ver, 0);
    CU_ASSERT_EQUAL(mmf_var_wait(v, 0, 0.01), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_set(ns, "later", "by name", 7), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_wait(v, 0, 0.01), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &ver), MMF_OK);
    CU_ASSERT(len == 7 && !memcmp(buf, "by name", 7) && ver);
    CU_ASSERT(agrees(v, "later"));
    mmf_var *w;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "made.by.handle", &w), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_set(w, "h", 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_get(ns, "made.by.handle", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT(len == 1 && buf[0] == 'h');
    CU_ASSERT_EQUAL(mmf_var_set(w, NULL, 0), MMF_OK); /* empty keeps the variable */
    CU_ASSERT_EQUAL(mmf_var_get(w, NULL, 0, &len, NULL), MMF_OK);
    CU_ASSERT_EQUAL(len, 0);
    CU_ASSERT_EQUAL(mmf_exists(ns, "made.by.handle"), 1);
    mmf_var_close(w);
    mmf_var_close(v);
    teardown();
}

static void test_delete_and_recreate(void) {
    setup(64);
    mmf_var *v;
    CU_ASSERT_EQUAL(mmf_set(ns, "k", "small", 5), MMF_OK);
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "k", &v), MMF_OK);
    char buf[512];
    size_t len;
    uint64_t v1, v2, v3;
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &v1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_delete(ns, "k"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &v2), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(v2, 0);
    CU_ASSERT_EQUAL(mmf_var_set(v, NULL, 0), MMF_OK); /* back, through the handle */
    CU_ASSERT(agrees(v, "k"));
    /* another size: a value in blocks, then inline again */
    char big[300];
    memset(big, 'B', sizeof big);
    CU_ASSERT_EQUAL(mmf_delete(ns, "k"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "k", big, sizeof big), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &v2), MMF_OK);
    CU_ASSERT(len == sizeof big && !memcmp(buf, big, len) && v2 > v1);
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, 10, &len, NULL), MMF_ERANGE);
    CU_ASSERT_EQUAL(len, sizeof big);
    CU_ASSERT_EQUAL(mmf_var_set(v, "tiny", 4), MMF_OK); /* a new block size, same slot */
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &v3), MMF_OK);
    CU_ASSERT(len == 4 && !memcmp(buf, "tiny", 4) && v3 > v2);
    CU_ASSERT(agrees(v, "k"));
    mmf_var_close(v);
    teardown();
}

/* A deleted variable's slot taken by another key: the handle must say
   "not found", never hand out the other variable's value. */
static void test_slot_reused_by_another_key(void) {
    setup_fixed(4);
    mmf_stats st;
    CU_ASSERT_EQUAL(mmf_stat(ns, &st), MMF_OK);
    unsigned slots = (unsigned)st.max_vars; /* 4 asked: a page of slots, 16 */
    CU_ASSERT_FATAL(slots >= 4 && slots <= 16);
    mmf_var *a, *b;
    CU_ASSERT_EQUAL(mmf_set(ns, "a", "AAAA", 4), MMF_OK);
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "a", &a), MMF_OK);
    CU_ASSERT_EQUAL(mmf_delete(ns, "a"), MMF_OK);
    /* a namespace that cannot grow: fill every slot, so that "a"'s old slot
       surely holds another key; "b" first and "e" last, as named below */
    CU_ASSERT_EQUAL(mmf_set(ns, "b", "BBBB", 4), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "c", "CCCC", 4), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "d", "DDDD", 4), MMF_OK);
    for (unsigned i = 4; i < slots; i++) {
        char key[32];
        snprintf(key, sizeof key, "filler%u", i);
        CU_ASSERT_EQUAL(mmf_set(ns, key, "FFFF", 4), MMF_OK);
    }
    CU_ASSERT_EQUAL(mmf_set(ns, "e", "EEEE", 4), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "one-too-many", "X", 1), MMF_ENOSPC);
    char buf[8];
    size_t len;
    uint64_t ver;
    CU_ASSERT_EQUAL(mmf_var_get(a, buf, sizeof buf, &len, &ver), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(ver, 0);
    CU_ASSERT_EQUAL(mmf_var_cas(a, 0, "aa", 2), MMF_ENOSPC); /* full: nothing changed */
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "b", &b), MMF_OK);
    CU_ASSERT_EQUAL(mmf_delete(ns, "e"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_cas(a, 0, "aa", 2), MMF_OK); /* into e's old slot */
    CU_ASSERT_EQUAL(mmf_var_get(a, buf, sizeof buf, &len, NULL), MMF_OK);
    CU_ASSERT(len == 2 && !memcmp(buf, "aa", 2));
    CU_ASSERT_EQUAL(mmf_var_get(b, buf, sizeof buf, &len, NULL), MMF_OK);
    CU_ASSERT(len == 4 && !memcmp(buf, "BBBB", 4));
    CU_ASSERT(agrees(a, "a") && agrees(b, "b"));
    mmf_var_close(a);
    mmf_var_close(b);
    teardown();
}

static void test_cas_and_add(void) {
    setup(64);
    mmf_var *c;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "counter", &c), MMF_OK);
    int64_t r = 0;
    CU_ASSERT_EQUAL(mmf_var_add_i64(c, 5, &r), MMF_OK); /* missing counts as 0 */
    CU_ASSERT_EQUAL(r, 5);
    CU_ASSERT_EQUAL(mmf_var_add_i64(c, -7, &r), MMF_OK);
    CU_ASSERT_EQUAL(r, -2);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "counter", 10, &r), MMF_OK);
    CU_ASSERT_EQUAL(r, 8);
    uint64_t ver;
    size_t len;
    int64_t got;
    CU_ASSERT_EQUAL(mmf_var_get(c, &got, sizeof got, &len, &ver), MMF_OK);
    CU_ASSERT_EQUAL(got, 8);
    CU_ASSERT_EQUAL(mmf_var_cas(c, ver + 2, "x", 1), MMF_ECONFLICT);
    CU_ASSERT_EQUAL(mmf_var_cas(c, 0, "x", 1), MMF_ECONFLICT); /* 0: only if missing */
    CU_ASSERT_EQUAL(mmf_var_cas(c, ver, "xyz", 3), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_add_i64(c, 1, &r), MMF_EINVAL); /* 3 bytes now */
    CU_ASSERT(agrees(c, "counter"));
    mmf_var *n;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "fresh", &n), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_cas(n, 1, "no", 2), MMF_ECONFLICT);
    CU_ASSERT_EQUAL(mmf_var_cas(n, 0, "yes", 3), MMF_OK);
    CU_ASSERT_EQUAL(mmf_exists(ns, "fresh"), 1);
    /* under the explicit lock, held by this thread */
    CU_ASSERT_EQUAL(mmf_lock(ns, 1.0), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_set(n, "locked", 6), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    CU_ASSERT(agrees(n, "fresh"));
    mmf_var_close(n);
    mmf_var_close(c);
    teardown();
}

/* Thousands of handles, random sets, deletes and re-creations (by name and
   through handles, sizes from empty to blocks), each handle checked
   against the by-name get after every step. */
static void test_many_handles_churn(void) {
    enum { KEYS = 2000 };
    setup(KEYS + 16);
    unsigned seed = (unsigned)soak_count("MMF_VAR_SEED", 12345);
    long steps = soak_count("MMF_VAR_STEPS", 20000);
    srand(seed);
    mmf_var **h = calloc(KEYS, sizeof *h);
    char(*names)[24] = calloc(KEYS, sizeof *names);
    CU_ASSERT_FATAL(h && names);
    for (int i = 0; i < KEYS; i++) {
        snprintf(names[i], sizeof names[i], "churn:%d", i);
        if (i % 2) mmf_set(ns, names[i], names[i], strlen(names[i]));
        CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, names[i], &h[i]), MMF_OK);
    }
    char val[400];
    int bad = 0;
    for (long s = 0; s < steps && !bad; s++) {
        int i = rand() % KEYS, op = rand() % 6;
        size_t len = (size_t)(rand() % 5 == 0 ? rand() % 400 : rand() % 70);
        for (size_t j = 0; j < len; j++)
            val[j] = (char)(i + j + s);
        int rc;
        switch (op) {
        case 0:
            rc = mmf_set(ns, names[i], val, len);
            break;
        case 1:
            rc = mmf_var_set(h[i], val, len);
            break;
        case 2:
            rc = mmf_delete(ns, names[i]);
            break;
        case 3:
            rc = mmf_delete(ns, names[i]) ? 0 : mmf_var_set(h[i], val, len);
            break;
        case 4:
            rc = mmf_var_cas(h[i], 0, val, len);
            break;
        default:
            rc = mmf_var_get(h[i], val, sizeof val, &len, NULL);
            break;
        }
        if (rc != MMF_OK && rc != MMF_ENOTFOUND && rc != MMF_ECONFLICT) bad = 1;
        /* not always the handle just used: a handle must also be right when
           its slot changed hands while nobody looked through it */
        for (int k = 0; k < 3; k++) {
            int j = k == 0 && rand() % 2 ? i : rand() % KEYS;
            if (!agrees(h[j], names[j])) bad = 1;
        }
        for (int j = 0; s % 2000 == 1999 && j < KEYS; j++)
            if (!agrees(h[j], names[j])) bad = 1;
    }
    for (int i = 0; i < KEYS; i++) {
        if (!agrees(h[i], names[i])) bad = 1;
        mmf_var_close(h[i]);
    }
    if (bad) fprintf(stderr, "churn: mismatch (MMF_VAR_SEED=%u)\n", seed);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    free(h);
    free(names);
    teardown();
}

/* Threads share one handle while the main thread deletes and re-creates its
   variable and gives its slot to another key: a reader sees the handle's
   key's values (or "not found"), never the other key's. */
static atomic_int stop;
static mmf_var *shared;

static void *reader(void *arg) {
    (void)arg;
    long bad = 0;
    char buf[128];
    size_t len;
    while (!atomic_load(&stop)) {
        int rc = mmf_var_get(shared, buf, sizeof buf, &len, NULL);
        if (rc == MMF_OK && (len < 4 || memcmp(buf, "mine", 4)))
            bad++;
        else if (rc != MMF_OK && rc != MMF_ENOTFOUND)
            bad++;
    }
    return (void *)bad;
}

static void test_threads_share_a_handle(void) {
    setup(8);
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "mine", &shared), MMF_OK);
    atomic_store(&stop, 0);
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, reader, NULL);
    char v[100];
    for (int round = 0; round < 3000; round++) {
        size_t n = 4 + (size_t)(round % 90);
        memset(v, 'm', n);
        memcpy(v, "mine", 4);
        memset(v + 4, 'x' + round % 3, n - 4);
        mmf_var_set(shared, v, n);
        mmf_delete(ns, "other");
        if (round % 3 == 0) {
            mmf_delete(ns, "mine");
            memcpy(v, "othr", 4); /* another key takes the freed slot, for a round */
            mmf_set(ns, "other", v, n);
        }
    }
    atomic_store(&stop, 1);
    long bad = 0;
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    CU_ASSERT_EQUAL(bad, 0);
    mmf_var_close(shared);
    teardown();
}

int main(void) {
    const test_case tests[] = {
        {"bad arguments are refused and change nothing", test_bad_arguments},
        {"a handle on a missing variable: not found, wait, set creates", test_missing_then_created},
        {"delete, re-create with other sizes", test_delete_and_recreate},
        {"a slot reused by another key", test_slot_reused_by_another_key},
        {"cas and add through handles", test_cas_and_add},
        {"thousands of handles across deletes and re-creations", test_many_handles_churn},
        {"threads share one handle", test_threads_share_a_handle},
        {NULL, NULL},
    };
    return run_suite("var", tests);
}
