/*
 * A waiter asleep in mmf_wait when its publisher dies after the new value
 * became readable, at every such crash point: it must return, with the
 * change, without burning a CPU while it waits. And a wait on the version a
 * read through a dead writer reported must sleep, not spin.
 */
#include <stdatomic.h>
#include <sys/mman.h>

#include "crash_common.h"

static char name[128];

enum wop { W_INLINE, W_BLOCK, W_ADD, W_INSERT, W_DELETE };

struct wscenario {
    const char *point;
    enum wop op;
    bool readonly; /* the waiter's handle */
};

static const struct wscenario wscenarios[] = {
    {"inplace.flipped", W_INLINE, false},        {"inplace.flipped", W_BLOCK, false},
    {"inplace.before_release", W_INLINE, false}, {"inplace.before_release", W_BLOCK, false},
    {"inplace.flipped", W_ADD, false},           {"publish.before_clear", W_INSERT, false},
    {"insert.before_release", W_INSERT, false},  {"publish.before_clear", W_DELETE, false},
    {"delete.published", W_DELETE, false},       {"delete.before_trim", W_DELETE, false},
    {"inplace.flipped", W_INLINE, true},         {"inplace.before_release", W_BLOCK, true},
    {"insert.before_release", W_INSERT, true},   {"delete.published", W_DELETE, true},
};

static const char *wop_names[] = {"set (inline)", "set (block)", "add", "insert", "delete"};

struct wresult {
    int rc;
    double cpu, returned_at;
};

static size_t value_len(enum wop op) {
    return op == W_BLOCK ? 500 : 40;
}

static void writer_dies(const struct wscenario *sc) {
    mmf *ns = open_ns(name, false, 10);
    CHILD_REQUIRE(ns);
    char buf[512];
    memset(buf, 'n', sizeof buf);
    setenv("MMF_CRASH_AT", sc->point, 1);
    switch (sc->op) {
    case W_ADD:
        mmf_add_i64(ns, "w", 1, NULL);
        break;
    case W_DELETE:
        mmf_delete(ns, "w");
        break;
    default:
        mmf_set(ns, "w", buf, value_len(sc->op));
        break;
    }
    _exit(3); /* the crash point was not reached */
}

static void waiter(const struct wscenario *sc, int ready, struct wresult *res) {
    mmf *ns = open_ns(name, sc->readonly, 10);
    CHILD_REQUIRE(ns);
    char buf[512];
    size_t len;
    uint64_t v = 0;
    int rc = mmf_get_v(ns, "w", buf, sizeof buf, &len, &v);
    CHILD_REQUIRE(rc == MMF_OK || (rc == MMF_ENOTFOUND && sc->op == W_INSERT));
    CHILD_REQUIRE(write(ready, "r", 1) == 1);
    double c0 = cpu_s();
    res->rc = mmf_wait(ns, "w", v, 10);
    res->returned_at = now_s();
    res->cpu = cpu_s() - c0;
    _exit(0);
}

void test_dead_publisher_wakes_waiters(void) {
    struct wresult *res =
        mmap(NULL, sizeof *res, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(res != MAP_FAILED);
    for (size_t i = 0; i < sizeof wscenarios / sizeof *wscenarios; i++) {
        const struct wscenario *sc = &wscenarios[i];
        mmf *ns = fresh(unique_name(name, sizeof name, "waiters"), 0, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
        if (sc->op == W_ADD) {
            CU_ASSERT_EQUAL_FATAL(mmf_add_i64(ns, "w", 5, NULL), MMF_OK);
        } else if (sc->op != W_INSERT) {
            char old[512];
            memset(old, 'o', sizeof old);
            CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "w", old, value_len(sc->op)), MMF_OK);
        }
        memset(res, 0, sizeof *res);
        res->rc = 1;
        int pfd[2];
        CU_ASSERT_FATAL(pipe(pfd) == 0);
        pid_t w = fork();
        if (w == 0) waiter(sc, pfd[1], res);
        char r;
        CU_ASSERT_EQUAL(read(pfd[0], &r, 1), 1);
        close(pfd[0]);
        close(pfd[1]);
        usleep(100000); /* most likely asleep by now; right either way */
        pid_t d = fork();
        if (d == 0) writer_dies(sc);
        CU_ASSERT_EQUAL(wait_child(d), 100 + SIGKILL);
        double died = now_s();
        CU_ASSERT_EQUAL(wait_child(w), 0);
        printf("\n  %-24s %-12s %s waiter: %s after %.3f s, %.3f s of CPU", sc->point,
               wop_names[sc->op], sc->readonly ? "read-only " : "read-write",
               res->rc == MMF_OK ? "woke" : mmf_strerror(res->rc), res->returned_at - died,
               res->cpu);
        CU_ASSERT_EQUAL(res->rc, MMF_OK);
        CU_ASSERT(res->cpu < 0.5);
        CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
        mmf_close(ns);
        mmf_unlink(name, NULL);
    }
    munmap(res, sizeof *res);
}

void test_wait_after_read_through_sleeps(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "readthrough"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    char buf[64];
    size_t len;
    memset(buf, 'o', 40);
    CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "w", buf, 40), MMF_OK);
    struct wscenario sc = {"inplace.flipped", W_INLINE, true};
    pid_t d = fork();
    if (d == 0) writer_dies(&sc);
    CU_ASSERT_EQUAL(wait_child(d), 100 + SIGKILL);
    /* a read-only reader reads through: the new value, at the version the
       repair will give it, while the slot stays as the writer left it */
    mmf *ro = open_ns(name, true, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    uint64_t v = 0, v2 = 0;
    CU_ASSERT_EQUAL(mmf_get_v(ro, "w", buf, sizeof buf, &len, &v), MMF_OK);
    CU_ASSERT(len == 40 && buf[0] == 'n' && buf[39] == 'n');
    double c0 = cpu_s();
    CU_ASSERT_EQUAL(mmf_wait(ro, "w", v, 1.0), MMF_ETIMEDOUT);
    double ro_cpu = cpu_s() - c0;
    /* a read-write reader repairs it: same value, same version */
    CU_ASSERT_EQUAL(mmf_get_v(ns, "w", buf, sizeof buf, &len, &v2), MMF_OK);
    CU_ASSERT_EQUAL(v2, v);
    CU_ASSERT(len == 40 && buf[0] == 'n');
    c0 = cpu_s();
    CU_ASSERT_EQUAL(mmf_wait(ns, "w", v, 1.0), MMF_ETIMEDOUT);
    double rw_cpu = cpu_s() - c0;
    CU_ASSERT_EQUAL(mmf_wait(ro, "w", v, 0.2), MMF_ETIMEDOUT);
    printf("\n  1 s waits on a read-through version: %.3f s of CPU read-only, %.3f s read-write",
           ro_cpu, rw_cpu);
    CU_ASSERT(ro_cpu < 0.2);
    CU_ASSERT(rw_cpu < 0.2);
    CU_ASSERT_EQUAL(takeovers(name), 1);
    mmf_close(ro);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}
