/*
 * Read-only attach: reads work and never write a byte of the mapping (also
 * when they meet a slot a dead writer left), every write is MMF_EPERM, a
 * wait is woken by another process's write, and another user with read
 * permission can read (that part needs root, as CI runs).
 */
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>

#include "crash_common.h"

#define NOBODY 65534

static char name[128];

/* FNV-1a over the whole namespace file. */
static uint64_t file_hash(void) {
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    uint64_t h = 1469598103934665603ull;
    unsigned char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ull;
    close(fd);
    return h;
}

static mmf *shared_namespace(void) {
    mmf_unlink(unique_name(name, sizeof name, "ro"), NULL);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.mode = 0644;
    mmf *ns = NULL;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    char big[3000];
    memset(big, 'b', sizeof big);
    CU_ASSERT_EQUAL(mmf_set(ns, "a", "alpha", 5), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "b", big, sizeof big), MMF_OK);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "n", 7, NULL), MMF_OK);
    return ns;
}

static int count_var(const char *k, const void *v, size_t len, uint64_t ver, void *ctx) {
    (void)k, (void)v, (void)len, (void)ver;
    ++*(int *)ctx;
    return 0;
}

/* Every read works, every write is refused; returns the number of failed checks. */
static int exercise_readonly(mmf *ro) {
    int bad = 0;
    char buf[4096];
    size_t len, count = 0;
    uint64_t v;
    int vars = 0;
    mmf_stats st;
    bad += mmf_get(ro, "a", buf, sizeof buf, &len) != MMF_OK || len != 5 || memcmp(buf, "alpha", 5);
    bad += mmf_get_v(ro, "b", buf, sizeof buf, &len, &v) != MMF_OK || len != 3000 || v == 0;
    bad += mmf_exists(ro, "n") != 1 || mmf_exists(ro, "none") != 0;
    bad += mmf_foreach(ro, count_var, &vars) != MMF_OK || vars != 3;
    bad += mmf_stat(ro, &st) != MMF_OK || st.vars != 3;
    bad += mmf_attached(ro, NULL, 0, &count) != MMF_OK;
    FILE *devnull = fopen("/dev/null", "w");
    bad += mmf_dump(ro, devnull) != MMF_OK;
    fclose(devnull);
    bad += mmf_wait(ro, "a", v + 1, 0.01) != MMF_OK; /* not its version: at once */
    bad += mmf_set(ro, "a", "x", 1) != MMF_EPERM;
    bad += mmf_set(ro, "new", "x", 1) != MMF_EPERM;
    bad += mmf_set_tagged(ro, "a", "x", 1, 3) != MMF_EPERM;
    bad += mmf_cas(ro, "a", 0, "x", 1) != MMF_EPERM;
    bad += mmf_add_i64(ro, "n", 1, NULL) != MMF_EPERM;
    bad += mmf_delete(ro, "a") != MMF_EPERM;
    bad += mmf_lock(ro, 1) != MMF_EPERM;
    bad += mmf_unlock(ro) != MMF_ENOLOCK;
    bad += mmf_check(ro, NULL) != MMF_EPERM;
    return bad;
}

static void test_owner_reads_without_writing(void) {
    mmf *ns = shared_namespace();
    uint64_t before = file_hash();
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.readonly = true;
    mmf *ro = NULL;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ro), MMF_OK);
    CU_ASSERT_EQUAL(exercise_readonly(ro), 0);
    size_t count;
    CU_ASSERT_EQUAL(mmf_attached(ro, NULL, 0, &count), MMF_OK);
    CU_ASSERT_EQUAL(count, 1); /* the writer; a read-only handle does not register */
    mmf_close(ro);
    CU_ASSERT_EQUAL(file_hash(), before); /* not one byte written */
    /* and the read-write handle still reads and writes */
    CU_ASSERT_EQUAL(mmf_set(ns, "a", "beta", 4), MMF_OK);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_bad_readonly_options(void) {
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = unique_name(name, sizeof name, "ro.none");
    o.readonly = true;
    mmf *ro = NULL;
    CU_ASSERT_EQUAL(mmf_open(&o, &ro), MMF_ENOENT); /* read-only never creates */
    o.exclusive = true;
    CU_ASSERT_EQUAL(mmf_open(&o, &ro), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_open_spec("name=x readonly=maybe", &ro), MMF_EINVAL);
}

static void test_readonly_wait_is_woken(void) {
    mmf *ns = shared_namespace();
    int pfd[2];
    CU_ASSERT_FATAL(pipe(pfd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *ro = open_ns(name, true, 5);
        CHILD_REQUIRE(ro);
        char buf[16];
        size_t len;
        uint64_t v;
        CHILD_REQUIRE(mmf_get_v(ro, "a", buf, sizeof buf, &len, &v) == MMF_OK);
        CHILD_REQUIRE(write(pfd[1], "r", 1) == 1);
        double c0 = cpu_s();
        CHILD_REQUIRE(mmf_wait(ro, "a", v, 10) == MMF_OK);
        CHILD_REQUIRE(mmf_get(ro, "a", buf, sizeof buf, &len) == MMF_OK && len == 5 &&
                      memcmp(buf, "gamma", 5) == 0);
        CHILD_REQUIRE(mmf_wait(ro, "missing", 0, 10) == MMF_OK); /* created meanwhile */
        CHILD_REQUIRE(cpu_s() - c0 < 0.5);
        _exit(0);
    }
    char r;
    CU_ASSERT_EQUAL(read(pfd[0], &r, 1), 1);
    usleep(200000);
    CU_ASSERT_EQUAL(mmf_set(ns, "a", "gamma", 5), MMF_OK);
    usleep(100000);
    CU_ASSERT_EQUAL(mmf_set(ns, "missing", "here", 4), MMF_OK);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    close(pfd[0]);
    close(pfd[1]);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_readonly_reads_through_dead_writer(void) {
    mmf *ns = shared_namespace();
    pid_t pid = fork();
    if (pid == 0) {
        mmf *w = open_ns(name, false, 5);
        CHILD_REQUIRE(w);
        setenv("MMF_CRASH_AT", "inplace.written", 1);
        mmf_set(w, "a", "omega", 5);
        _exit(3);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 100 + SIGKILL);
    uint64_t before = file_hash();
    mmf *ro = open_ns(name, true, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    for (int i = 0; i < 3; i++)
        expect_value(ro, "a", "alpha", 5); /* the old value, whole */
    mmf_close(ro);
    CU_ASSERT_EQUAL(file_hash(), before); /* the dead writer's slot left as it was */
    expect_value(ns, "a", "alpha", 5);    /* read-write: repairs */
    CU_ASSERT(file_hash() != before);
    CU_ASSERT_EQUAL(takeovers(name), 1);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_other_user_reads(void) {
    if (geteuid() != 0) {
        printf("\n  not run: switching to another user needs root");
        if (getenv("CI")) CU_FAIL("CI must run this test as root");
        return;
    }
    mmf *ns = shared_namespace();
    pid_t pid = fork();
    if (pid == 0) {
        CHILD_REQUIRE(setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.reuse = true;
        mmf *h = NULL;
        CHILD_REQUIRE(mmf_open(&o, &h) == MMF_EPERM); /* read-write: refused */
        o.readonly = true;
        CHILD_REQUIRE(mmf_open(&o, &h) == MMF_OK);
        CHILD_REQUIRE(exercise_readonly(h) == 0);
        mmf_close(h);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

int main(void) {
    static const test_case tests[] = {
        {"the owner reads read-only, and not one byte is written",
         test_owner_reads_without_writing},
        {"read-only never creates; bad combinations are refused", test_bad_readonly_options},
        {"a read-only wait is woken by another process's write", test_readonly_wait_is_woken},
        {"a read-only reader reads through a dead writer without repairing",
         test_readonly_reads_through_dead_writer},
        {"another user with read permission reads", test_other_user_reads},
        {NULL, NULL}};
    return run_suite("read-only attach", tests);
}
