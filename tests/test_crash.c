/*
 * kill -9 at every named crash point (common/crash.h), then a check from
 * another process: the namespace opens and passes mmf_check (recovering what
 * the dead process left), every other variable keeps its value, the
 * interrupted one holds exactly its old or its new value, no block or slot
 * leaked, and the namespace takes writes again.
 *
 * Growth has its own points: a process killed in the middle of growing the
 * slots, the heap or the index leaves a namespace that the next one reads
 * whole, repairs, and grows on (test_every_growth_crash_point).
 *
 * The same suite meets the peers that are not simply dead (crash_peers.c)
 * and waiters whose publisher dies (crash_waiters.c).
 */
#include <glob.h>
#include <signal.h>

#include "crash_common.h"

enum op { INSERT, DELETE, GROW, SHRINK, INPLACE_INLINE, INPLACE_BLOCK, ADD, LOCK };
enum expect { OLD, NEW };

struct scenario {
    const char *point;
    enum op op;
    enum expect expect;
    int mutex_held; /* the dead process held the namespace mutex */
};

static const struct scenario scenarios[] = {
    {"insert.slot", INSERT, OLD, 1},
    {"alloc.split", INSERT, OLD, 1},
    {"insert.claimed", INSERT, OLD, 1},
    {"publish.ready", INSERT, NEW, 1},
    {"publish.half", INSERT, NEW, 1},
    {"publish.before_entry", INSERT, NEW, 1},
    {"publish.before_clear", INSERT, NEW, 1},
    {"insert.before_release", INSERT, NEW, 1},
    {"delete.claimed", DELETE, OLD, 1},
    {"publish.ready", DELETE, NEW, 1},
    {"publish.half", DELETE, NEW, 1},
    {"publish.before_entry", DELETE, NEW, 1},
    {"publish.before_clear", DELETE, NEW, 1},
    {"delete.published", DELETE, NEW, 1},
    {"alloc.merge", DELETE, NEW, 1},
    {"delete.blocks_freed", DELETE, NEW, 1},
    {"delete.before_trim", DELETE, NEW, 1},
    {"alloc.split", GROW, OLD, 1},
    {"replace.blocks", GROW, OLD, 1},
    {"publish.ready", GROW, NEW, 1},
    {"publish.half", GROW, NEW, 1},
    {"publish.before_clear", GROW, NEW, 1},
    {"replace.before_free", GROW, NEW, 1},
    {"replace.blocks", SHRINK, OLD, 1},
    {"publish.half", SHRINK, NEW, 1},
    {"replace.before_free", SHRINK, NEW, 1},
    {"alloc.merge", SHRINK, NEW, 1},
    {"inplace.claimed", INPLACE_INLINE, OLD, 0},
    {"inplace.written", INPLACE_INLINE, OLD, 0},
    {"inplace.flipped", INPLACE_INLINE, NEW, 0},
    {"inplace.before_release", INPLACE_INLINE, NEW, 0},
    {"inplace.claimed", INPLACE_BLOCK, OLD, 0},
    {"inplace.written", INPLACE_BLOCK, OLD, 0},
    {"inplace.flipped", INPLACE_BLOCK, NEW, 0},
    {"inplace.before_release", INPLACE_BLOCK, NEW, 0},
    {"inplace.written", ADD, OLD, 0},
    {"inplace.flipped", ADD, NEW, 0},
    {"lock.held", LOCK, OLD, 1},
};

static const char *op_names[] = {
    "insert", "delete", "grow", "shrink", "in-place (inline)", "in-place (block)", "add", "lock"};

static char name[128];

/* The victim's value before and after the operation (len 0 + absent). */
struct value {
    int present;
    size_t len;
    char fill;
};

static void old_new(enum op op, struct value *old, struct value *nu) {
    static const struct value absent = {0, 0, 0};
    switch (op) {
    case INSERT:
        *old = absent, *nu = (struct value){1, 3000, 'n'};
        break;
    case DELETE:
        *old = (struct value){1, 700, 'o'}, *nu = absent;
        break;
    case GROW:
        *old = (struct value){1, 40, 'o'}, *nu = (struct value){1, 3000, 'n'};
        break;
    case SHRINK:
        *old = (struct value){1, 3000, 'o'}, *nu = (struct value){1, 20, 'n'};
        break;
    case INPLACE_INLINE:
        *old = (struct value){1, 40, 'o'}, *nu = (struct value){1, 40, 'n'};
        break;
    case INPLACE_BLOCK:
        *old = (struct value){1, 500, 'o'}, *nu = (struct value){1, 480, 'n'};
        break;
    case LOCK:
        *old = (struct value){1, 40, 'o'}, *nu = *old;
        break;
    case ADD:
        *old = *nu = absent;
        break; /* a counter: checked apart */
    }
}

static void keep_value(int i, char *buf, size_t *len) {
    *len = (size_t)(i % 3 == 0 ? 16 : i % 3 == 1 ? 200 : 600);
    memset(buf, 'a' + i, *len);
}

static void setup(const struct scenario *sc) {
    mmf *ns = fresh(unique_name(name, sizeof name, "crash"), 1 << 20, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    char buf[4096];
    size_t len;
    for (int i = 0; i < 20; i++) {
        char key[16];
        snprintf(key, sizeof key, "keep.%d", i);
        keep_value(i, buf, &len);
        CU_ASSERT_EQUAL_FATAL(mmf_set(ns, key, buf, len), MMF_OK);
    }
    struct value old, nu;
    old_new(sc->op, &old, &nu);
    if (old.present) {
        memset(buf, old.fill, old.len);
        CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "victim", buf, old.len), MMF_OK);
    }
    CU_ASSERT_EQUAL_FATAL(mmf_add_i64(ns, "counter", 5, NULL), MMF_OK);
    CU_ASSERT_EQUAL_FATAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
}

/* In the child: the operation, with the crash point armed. */
static void run_op(const struct scenario *sc) {
    mmf *ns = open_ns(name, false, 5);
    CHILD_REQUIRE(ns);
    struct value old, nu;
    old_new(sc->op, &old, &nu);
    char buf[4096];
    memset(buf, nu.fill, nu.len);
    setenv("MMF_CRASH_AT", sc->point, 1);
    switch (sc->op) {
    case DELETE:
        mmf_delete(ns, "victim");
        break;
    case ADD:
        mmf_add_i64(ns, "counter", 1, NULL);
        break;
    case LOCK:
        mmf_lock(ns, 1);
        break;
    default:
        mmf_set(ns, "victim", buf, nu.len);
        break;
    }
    fprintf(stderr, "crash point %s was not reached by %s\n", sc->point, op_names[sc->op]);
    _exit(3);
}

static int is_value(const char *buf, size_t len, const struct value *v) {
    if (!v->present || len != v->len) return 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i] != v->fill) return 0;
    return 1;
}

/* In another process: everything the file comment promises. */
static void verify(const struct scenario *sc) {
    mmf *ns = open_ns(name, false, 5);
    CHILD_REQUIRE(ns);
    char buf[4096];
    size_t len;
    /* reads first, before anyone repairs anything: they must not hang */
    for (int i = 0; i < 20; i++) {
        char key[16], want[4096];
        size_t wlen;
        snprintf(key, sizeof key, "keep.%d", i);
        keep_value(i, want, &wlen);
        CHILD_REQUIRE(mmf_get(ns, key, buf, sizeof buf, &len) == MMF_OK);
        CHILD_REQUIRE(len == wlen && memcmp(buf, want, len) == 0);
    }
    struct value old, nu;
    old_new(sc->op, &old, &nu);
    const struct value *want = sc->expect == OLD ? &old : &nu;
    /* before any repair a reader sees the old or the new value, whole (a
       change whose intent was complete is rolled forward by the repair) */
    int rc = mmf_get(ns, "victim", buf, sizeof buf, &len);
    if (sc->op != ADD)
        CHILD_REQUIRE((rc == MMF_OK && (is_value(buf, len, &old) || is_value(buf, len, &nu))) ||
                      (rc == MMF_ENOTFOUND && (!old.present || !nu.present)));
    mmf_stats st;
    CHILD_REQUIRE(mmf_check(ns, NULL) == MMF_OK); /* takes the mutex: recovers */
    CHILD_REQUIRE(mmf_stat(ns, &st) == MMF_OK);
    CHILD_REQUIRE(st.lock_recoveries == (uint64_t)sc->mutex_held);
    /* after it, exactly what the crash point promises */
    if (sc->op == ADD) {
        int64_t c = 0;
        CHILD_REQUIRE(mmf_get(ns, "counter", &c, sizeof c, &len) == MMF_OK);
        CHILD_REQUIRE(c == (sc->expect == OLD ? 5 : 6));
    } else {
        rc = mmf_get(ns, "victim", buf, sizeof buf, &len);
        if (want->present)
            CHILD_REQUIRE(rc == MMF_OK && is_value(buf, len, want));
        else
            CHILD_REQUIRE(rc == MMF_ENOTFOUND);
    }
    /* and it takes writes again, on the victim too */
    memset(buf, 'z', 100);
    CHILD_REQUIRE(mmf_set(ns, "victim", buf, 100) == MMF_OK);
    CHILD_REQUIRE(mmf_set(ns, "victim", buf, 90) == MMF_OK);
    CHILD_REQUIRE(mmf_add_i64(ns, "counter", 1, NULL) == MMF_OK);
    CHILD_REQUIRE(mmf_set(ns, "after", "x", 1) == MMF_OK);
    CHILD_REQUIRE(mmf_delete(ns, "keep.3") == MMF_OK);
    CHILD_REQUIRE(mmf_lock(ns, 1) == MMF_OK && mmf_unlock(ns) == MMF_OK);
    CHILD_REQUIRE(mmf_check(ns, NULL) == MMF_OK);
    mmf_close(ns);
    _exit(0);
}

static void test_every_crash_point(void) {
    for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++) {
        const struct scenario *sc = &scenarios[i];
        setup(sc);
        pid_t pid = fork();
        if (pid == 0) run_op(sc);
        int st = wait_child(pid);
        if (st != 100 + SIGKILL)
            fprintf(stderr, "\n  %s during %s: the writer ended with %d, not SIGKILL\n", sc->point,
                    op_names[sc->op], st);
        CU_ASSERT_EQUAL(st, 100 + SIGKILL);
        pid = fork();
        if (pid == 0) verify(sc);
        st = wait_child(pid);
        if (st != 0)
            fprintf(stderr, "\n  %s during %s: the check from another process failed\n", sc->point,
                    op_names[sc->op]);
        else
            printf("\n  %-24s during %-18s: killed; recovered, %s value whole", sc->point,
                   op_names[sc->op], sc->expect == OLD ? "old" : "new");
        CU_ASSERT_EQUAL(st, 0);
        mmf_unlink(name, NULL);
    }
}

/*
 * Growth cut short. A child inserts variables into a namespace created
 * small (64 KiB, room for 16 variables: its slots, heap and index all grow
 * within the first few dozen inserts) with one growth crash point armed,
 * reporting each insert that returned through a pipe; it is killed at the
 * point's N-th passage. Another process then reads every variable the
 * child had written (before any repair: nothing hangs), passes mmf_check
 * (which recovers the mutex and the growth first), and writes on: the
 * namespace grows again past where the dead one stopped.
 */
struct grow_scenario {
    const char *point; /* with @N: the N-th time it is reached */
    const char *what;
};

static const struct grow_scenario grow_scenarios[] = {
    {"grow.slots.committed", "slots"},      {"grow.slots.committed@3", "slots"},
    {"grow.heap.committed", "heap"},        {"grow.heap.committed@3", "heap"},
    {"alloc.grow.published", "heap"},       {"alloc.grow.published@3", "heap"},
    {"grow.index.committed", "index"},      {"grow.index.committed@2", "index"},
    {"rebuild.filled", "index rebuild"},    {"rebuild.filled@3", "index rebuild"},
    {"rebuild.published", "index rebuild"}, {"rebuild.published@3", "index rebuild"},
};

#define GROW_MOST 40000u /* inserts the child tries before it gives up */

/* Variable i: 1 KiB (in the heap) one in three, else 20 bytes (inline). */
static size_t grow_value(unsigned char *v, uint32_t i) {
    return make_value(v, i, 7, i % 3 == 0 ? 1000 : 20);
}

static int grow_read(mmf *ns, uint32_t i) {
    char key[24];
    unsigned char buf[1024], want[1024];
    size_t len = 0, wlen = grow_value(want, i);
    snprintf(key, sizeof key, "g.%u", i);
    int rc = mmf_get(ns, key, buf, sizeof buf, &len);
    if (rc == MMF_ENOTFOUND) return 0;
    return rc == MMF_OK && len == wlen && memcmp(buf, want, len) == 0 ? 1 : -1;
}

static int grow_write(mmf *ns, uint32_t i) {
    char key[24];
    unsigned char v[1024];
    snprintf(key, sizeof key, "g.%u", i);
    return mmf_set(ns, key, v, grow_value(v, i));
}

static void grow_child(const struct grow_scenario *sc, int fd) {
    mmf *ns = open_ns(name, false, 5);
    CHILD_REQUIRE(ns);
    setenv("MMF_CRASH_AT", sc->point, 1);
    for (uint32_t i = 0; i < GROW_MOST; i++) {
        CHILD_REQUIRE(grow_write(ns, i) == MMF_OK);
        uint32_t done = i + 1;
        CHILD_REQUIRE(write(fd, &done, sizeof done) == (ssize_t)sizeof done);
    }
    fprintf(stderr, "crash point %s was not reached in %u inserts\n", sc->point, GROW_MOST);
    _exit(3);
}

static void grow_verify(uint32_t done) {
    mmf *ns = open_ns(name, false, 5);
    CHILD_REQUIRE(ns);
    mmf_stats before;
    CHILD_REQUIRE(mmf_stat(ns, &before) == MMF_OK);
    /* reads first, before anyone repairs anything */
    for (uint32_t i = 0; i < done; i++)
        CHILD_REQUIRE(grow_read(ns, i) == 1);
    CHILD_REQUIRE(grow_read(ns, done) >= 0); /* the interrupted insert: absent, or whole */
    CHILD_REQUIRE(grow_read(ns, done + 1) == 0);
    CHILD_REQUIRE(mmf_check(ns, NULL) == MMF_OK); /* recovers first */
    mmf_stats st;
    CHILD_REQUIRE(mmf_stat(ns, &st) == MMF_OK);
    CHILD_REQUIRE(st.lock_recoveries == 1); /* every growth runs under the mutex */
    int interrupted = grow_read(ns, done);
    CHILD_REQUIRE(interrupted >= 0);
    CHILD_REQUIRE(st.vars == done + (uint64_t)interrupted);
    for (uint32_t i = 0; i < done; i++)
        CHILD_REQUIRE(grow_read(ns, i) == 1);
    /* and it grows on: three times as many again, every kind of growth */
    uint32_t more = done * 3 + 200;
    for (uint32_t i = done; i < done + more; i++)
        CHILD_REQUIRE(grow_write(ns, i) == MMF_OK);
    for (uint32_t i = 0; i < done + more; i++)
        CHILD_REQUIRE(grow_read(ns, i) == 1);
    for (uint32_t i = 0; i < done + more; i += 2) { /* tombstones, then a compaction */
        char key[24];
        snprintf(key, sizeof key, "g.%u", i);
        CHILD_REQUIRE(mmf_delete(ns, key) == MMF_OK);
    }
    mmf_stats after;
    CHILD_REQUIRE(mmf_stat(ns, &after) == MMF_OK);
    CHILD_REQUIRE(after.grows > st.grows && after.index_rebuilds > st.index_rebuilds);
    CHILD_REQUIRE(after.vars == (done + more) / 2);
    CHILD_REQUIRE(mmf_check(ns, NULL) == MMF_OK);
    mmf_close(ns);
    _exit(0);
}

static void test_every_growth_crash_point(void) {
    for (size_t k = 0; k < sizeof grow_scenarios / sizeof *grow_scenarios; k++) {
        const struct grow_scenario *sc = &grow_scenarios[k];
        mmf_unlink(unique_name(name, sizeof name, "crash.grow"), NULL);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.size = 64u << 10;
        o.max_vars = 16;
        o.max_size = 64u << 20;
        mmf *ns = open_or_say(&o);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
        mmf_close(ns);
        int p[2];
        CU_ASSERT_FATAL(pipe(p) == 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            grow_child(sc, p[1]);
        }
        close(p[1]);
        uint32_t done = 0, got;
        while (read(p[0], &got, sizeof got) == (ssize_t)sizeof got)
            done = got;
        close(p[0]);
        int st = wait_child(pid);
        if (st != 100 + SIGKILL)
            fprintf(stderr, "\n  %s: the grower ended with %d, not SIGKILL\n", sc->point, st);
        CU_ASSERT_EQUAL(st, 100 + SIGKILL);
        pid = fork();
        if (pid == 0) grow_verify(done);
        st = wait_child(pid);
        if (st != 0)
            fprintf(stderr, "\n  %s: the check from another process failed (%d)\n", sc->point, st);
        else
            printf("\n  %-24s (%s growth) killed after %u inserts; recovered, all read back, "
                   "grew on",
                   sc->point, sc->what, done);
        CU_ASSERT_EQUAL(st, 0);
        mmf_unlink(name, NULL);
    }
}

static void test_creator_killed_before_publishing(void) {
    unique_name(name, sizeof name, "crash.create");
    mmf_unlink(name, NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("MMF_CRASH_AT", "create.before_link", 1);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        mmf *ns;
        mmf_open(&o, &ns);
        _exit(3);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 100 + SIGKILL);
    glob_t left; /* what it leaves: its private temporary file, nothing else */
    char pattern[256];
    snprintf(pattern, sizeof pattern, "/dev/shm/.mmf-%s.*", name);
    CU_ASSERT_EQUAL(glob(pattern, 0, NULL, &left), 0);
    CU_ASSERT_EQUAL(left.gl_pathc, 1);
    for (size_t i = 0; i < left.gl_pathc; i++)
        unlink(left.gl_pathv[i]);
    globfree(&left);
    mmf *ns = open_ns(name, false, 5); /* nothing half-made was published */
    CU_ASSERT_PTR_NULL(ns);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK); /* the next opener creates it whole */
    CU_ASSERT_EQUAL(mmf_set(ns, "k", "v", 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

int main(void) {
    static const test_case tests[] = {
        {"kill -9 at every crash point", test_every_crash_point},
        {"kill -9 at every growth crash point", test_every_growth_crash_point},
        {"a creator killed before publishing leaves no namespace",
         test_creator_killed_before_publishing},
        {"live writers of 16 MiB that change their memory are never taken over",
         test_live_writers_are_never_taken_over},
        {"a lock holder sees nothing change beside live writers",
         test_lock_holder_sees_no_change_from_live_writers},
        {"a writer stopped mid-write is waited for, then taken over once killed",
         test_stopped_writer_is_waited_for},
        {"the same with the writer in another PID namespace",
         test_stopped_writer_in_another_pid_namespace},
        {"a writer killed and left a zombie is taken over without reaping it", test_zombie_writer},
        {"a forked child keeps no dead parent alive", test_forked_child_keeps_no_parent_alive},
        {"a waiter asleep when its publisher dies wakes up", test_dead_publisher_wakes_waiters},
        {"a wait on a read-through version sleeps", test_wait_after_read_through_sleeps},
        {NULL, NULL}};
    return run_suite("crash points", tests);
}
