/* Variable handles across processes: mmf_var_wait woken by a write (and by
   a creation) in another process, sleeping and spinning; a read-only view's
   handles read and wait, and never write. */
#include "testutil.h"

static char nsname[96];

static mmf *open_view(double spin, bool readonly) {
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = nsname;
    o.reuse = true;
    o.spin = spin;
    o.readonly = readonly;
    return open_or_say(&o);
}

/* A child that waits delay_ms, then sets key (by name, in a view of its own). */
static pid_t writer_after(const char *key, int delay_ms, const char *val) {
    pid_t pid = fork();
    if (pid == 0) {
        mmf *ns = open_view(0, false);
        CHILD_REQUIRE(ns);
        usleep((useconds_t)delay_ms * 1000);
        CHILD_REQUIRE(mmf_set(ns, key, val, strlen(val)) == MMF_OK);
        mmf_close(ns);
        _exit(0);
    }
    return pid;
}

/* Waits through a handle of a view with the given spin for a write that
   another process makes, first on an existing variable, then for the
   creation of a missing one. */
static void wait_woken(double spin, bool readonly) {
    mmf *owner = fresh(unique_name(nsname, sizeof nsname, "varproc"), 1u << 20, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(owner);
    CU_ASSERT_EQUAL(mmf_set(owner, "quote", "100", 3), MMF_OK);
    mmf *ns = open_view(spin, readonly);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_var *q, *later;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "quote", &q), MMF_OK);
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "later", &later), MMF_OK);
    char buf[16];
    size_t len;
    uint64_t ver, ver2;
    CU_ASSERT_EQUAL(mmf_var_get(q, buf, sizeof buf, &len, &ver), MMF_OK);
    if (readonly) CU_ASSERT_EQUAL(mmf_var_set(q, "x", 1), MMF_EPERM);

    pid_t w = writer_after("quote", 50, "101");
    double t0 = now_s();
    CU_ASSERT_EQUAL(mmf_var_wait(q, ver, 10), MMF_OK);
    double waited = now_s() - t0;
    CU_ASSERT_EQUAL(mmf_var_get(q, buf, sizeof buf, &len, &ver2), MMF_OK);
    CU_ASSERT(len == 3 && !memcmp(buf, "101", 3) && ver2 != ver);
    CU_ASSERT(waited > 0.02 && waited < 5);
    CU_ASSERT_EQUAL(wait_child(w), 0);

    w = writer_after("later", 50, "born");
    CU_ASSERT_EQUAL(mmf_var_get(later, buf, sizeof buf, &len, &ver), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(mmf_var_wait(later, 0, 10), MMF_OK); /* its creation */
    CU_ASSERT_EQUAL(mmf_var_get(later, buf, sizeof buf, &len, NULL), MMF_OK);
    CU_ASSERT(len == 4 && !memcmp(buf, "born", 4));
    CU_ASSERT_EQUAL(wait_child(w), 0);

    /* nothing comes: the timeout, after the spin and then sleeping */
    CU_ASSERT_EQUAL(mmf_var_get(q, NULL, 0, &len, &ver), MMF_ERANGE);
    t0 = now_s();
    CU_ASSERT_EQUAL(mmf_var_wait(q, ver, 0.05), MMF_ETIMEDOUT);
    CU_ASSERT(now_s() - t0 >= 0.045);
    if (readonly) CU_ASSERT_EQUAL(mmf_var_get(q, NULL, 0, &len, &ver2), MMF_ERANGE);
    if (readonly) CU_ASSERT_EQUAL(ver2, ver); /* it wrote nothing */
    mmf_var_close(q);
    mmf_var_close(later);
    mmf_close(ns);
    mmf_close(owner);
    mmf_unlink(nsname, NULL);
}

static void test_wait_sleeping(void) {
    wait_woken(0, false);
}
static void test_wait_spinning(void) {
    wait_woken(0.02, false); /* spins 20 ms of the 50, then sleeps */
}
static void test_wait_spinning_long(void) {
    wait_woken(1.0, false); /* spins through the whole wait */
}
static void test_wait_readonly(void) {
    wait_woken(0, true);
}
static void test_wait_readonly_spinning(void) {
    wait_woken(0.02, true);
}

/* A handle sees another process delete and re-create its variable. */
static void test_recreated_by_another_process(void) {
    mmf *ns = fresh(unique_name(nsname, sizeof nsname, "varproc"), 1u << 20, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    CU_ASSERT_EQUAL(mmf_set(ns, "v", "first", 5), MMF_OK);
    mmf_var *v;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "v", &v), MMF_OK);
    uint64_t ver;
    size_t len;
    char buf[128];
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &ver), MMF_OK);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *c = open_view(0, false);
        CHILD_REQUIRE(c);
        CHILD_REQUIRE(mmf_delete(c, "v") == MMF_OK);
        CHILD_REQUIRE(mmf_set(c, "w", "another", 7) == MMF_OK); /* takes v's slot */
        char big[100];
        memset(big, 'S', sizeof big);
        CHILD_REQUIRE(mmf_set(c, "v", big, sizeof big) == MMF_OK);
        mmf_close(c);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    uint64_t ver2;
    CU_ASSERT_EQUAL(mmf_var_get(v, buf, sizeof buf, &len, &ver2), MMF_OK);
    CU_ASSERT(len == 100 && buf[0] == 'S' && buf[99] == 'S' && ver2 > ver);
    CU_ASSERT_EQUAL(mmf_var_set(v, "again", 5), MMF_OK);
    CU_ASSERT_EQUAL(mmf_get(ns, "v", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT(len == 5 && !memcmp(buf, "again", 5));
    CU_ASSERT_EQUAL(mmf_get(ns, "w", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT(len == 7 && !memcmp(buf, "another", 7));
    mmf_var_close(v);
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

int main(void) {
    const test_case tests[] = {
        {"mmf_var_wait woken by another process (sleeping)", test_wait_sleeping},
        {"mmf_var_wait woken by another process (spin, then sleep)", test_wait_spinning},
        {"mmf_var_wait woken by another process (spinning)", test_wait_spinning_long},
        {"a read-only view's handle reads and waits", test_wait_readonly},
        {"a read-only view's handle spins and waits", test_wait_readonly_spinning},
        {"deleted and re-created by another process", test_recreated_by_another_process},
        {NULL, NULL},
    };
    return run_suite("var_procs", tests);
}
