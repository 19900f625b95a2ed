/* Real processes sharing namespaces: fork, separate opens, kill -9. */
#include <signal.h>

#include "testutil.h"

static char name[128];

static void test_set_in_one_process_read_in_another(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "mp"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    CU_ASSERT_EQUAL(mmf_set(ns, "from.parent", "P", 1), MMF_OK);
    pid_t pid = fork();
    if (pid == 0) { /* a separate view of the same namespace */
        mmf *mine = open_ns(name, false, 10);
        CHILD_REQUIRE(mine);
        char buf[8];
        size_t len;
        CHILD_REQUIRE(mmf_get(mine, "from.parent", buf, sizeof buf, &len) == MMF_OK);
        CHILD_REQUIRE(len == 1 && buf[0] == 'P');
        CHILD_REQUIRE(mmf_set(mine, "from.child", "C!", 2) == MMF_OK);
        CHILD_REQUIRE(mmf_set(mine, "from.parent", "p", 1) == MMF_OK); /* in place */
        mmf_close(mine);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    expect_value(ns, "from.child", "C!", 2);
    expect_value(ns, "from.parent", "p", 1);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_forked_child_uses_parents_handle(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "fork"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_set(ns, "n", "12345678", 8);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 1000; i++)
            CHILD_REQUIRE(mmf_add_i64(ns, "count", 1, NULL) == MMF_OK);
        CHILD_REQUIRE(mmf_lock(ns, 5) == MMF_OK);
        CHILD_REQUIRE(mmf_set(ns, "child.locked", "yes", 3) == MMF_OK);
        CHILD_REQUIRE(mmf_unlock(ns) == MMF_OK);
        _exit(0);
    }
    for (int i = 0; i < 1000; i++)
        CU_ASSERT_EQUAL(mmf_add_i64(ns, "count", 1, NULL), MMF_OK);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    int64_t total;
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(ns, "count", &total, sizeof total, &len), MMF_OK);
    CU_ASSERT_EQUAL(total, 2000);
    CU_ASSERT_EQUAL(mmf_exists(ns, "child.locked"), 1);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

/* Win32::MMF's first example: set, get and delete a string and a structure. */
static void test_original_example_1(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "My.data1"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    struct record {
        char name[16];
        int age;
        double balance;
    } rec = {"Roger", 35, 1234.5}, got;
    const char *var1 = "Hello world!";
    CU_ASSERT_EQUAL(mmf_set(ns, "varid1", var1, strlen(var1)), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "varid2", &rec, sizeof rec), MMF_OK);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *other = open_ns(name, false, 10);
        CHILD_REQUIRE(other);
        char buf[64];
        size_t len;
        CHILD_REQUIRE(mmf_get(other, "varid1", buf, sizeof buf, &len) == MMF_OK);
        CHILD_REQUIRE(len == 12 && memcmp(buf, "Hello world!", 12) == 0);
        struct record r;
        CHILD_REQUIRE(mmf_get(other, "varid2", &r, sizeof r, &len) == MMF_OK);
        CHILD_REQUIRE(len == sizeof r && r.age == 35 && strcmp(r.name, "Roger") == 0);
        CHILD_REQUIRE(mmf_delete(other, "varid1") == MMF_OK);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    size_t len;
    CU_ASSERT_EQUAL(mmf_exists(ns, "varid1"), 0);
    CU_ASSERT_EQUAL(mmf_get(ns, "varid2", &got, sizeof got, &len), MMF_OK);
    CU_ASSERT(got.balance == 1234.5);
    CU_ASSERT_EQUAL(mmf_delete(ns, "varid2"), MMF_OK);
    mmf_stats st;
    mmf_stat(ns, &st);
    CU_ASSERT_EQUAL(st.vars, 0);
    CU_ASSERT_EQUAL(st.heap_used, 0);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

/* Win32::MMF's second example: two processes signalling each other through
   variables, here with mmf_wait instead of a polling loop. */
static void test_original_example_2_signalling(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "signal"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *me = open_ns(name, false, 10);
        CHILD_REQUIRE(me);
        int waits = 0;
        for (int round = 0; round < 5; round++) {
            char buf[32];
            size_t len;
            uint64_t v = 0;
            /* wait for the parent's ping (version 0 = not yet created) */
            int rc;
            while ((rc = mmf_get_v(me, "ping", buf, sizeof buf, &len, &v)) != MMF_OK ||
                   buf[0] != '0' + round) {
                CHILD_REQUIRE(rc == MMF_OK || rc == MMF_ENOTFOUND);
                CHILD_REQUIRE(mmf_wait(me, "ping", v, 10) == MMF_OK);
                waits++;
            }
            char reply = (char)('a' + round);
            CHILD_REQUIRE(mmf_set(me, "pong", &reply, 1) == MMF_OK);
        }
        CHILD_REQUIRE(waits <= 10); /* woken by changes, not spinning */
        _exit(0);
    }
    int waits = 0;
    for (int round = 0; round < 5; round++) {
        char ping = (char)('0' + round);
        CU_ASSERT_EQUAL(mmf_set(ns, "ping", &ping, 1), MMF_OK);
        char buf[8];
        size_t len;
        uint64_t v = 0;
        int rc;
        while ((rc = mmf_get_v(ns, "pong", buf, sizeof buf, &len, &v)) != MMF_OK ||
               buf[0] != 'a' + round) {
            CU_ASSERT_FATAL(rc == MMF_OK || rc == MMF_ENOTFOUND);
            CU_ASSERT_EQUAL_FATAL(mmf_wait(ns, "pong", v, 10), MMF_OK);
            waits++;
        }
    }
    CU_ASSERT(waits <= 10);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_wait_wakes_on_set_delete_create(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "wake"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_set(ns, "k", "v", 1);
    int gate[2];
    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *me = open_ns(name, false, 10);
        CHILD_REQUIRE(me);
        char c;
        for (int step = 0; step < 3; step++) {
            CHILD_REQUIRE(read(gate[0], &c, 1) == 1);
            usleep(50000); /* let the parent fall asleep in mmf_wait */
            if (step == 0) CHILD_REQUIRE(mmf_set(me, "k", "w", 1) == MMF_OK);
            if (step == 1) CHILD_REQUIRE(mmf_delete(me, "k") == MMF_OK);
            if (step == 2) CHILD_REQUIRE(mmf_set(me, "k", "new", 3) == MMF_OK);
        }
        _exit(0);
    }
    char buf[8];
    size_t len;
    uint64_t v;
    for (int step = 0; step < 3; step++) {
        int rc = mmf_get_v(ns, "k", buf, sizeof buf, &len, &v);
        CU_ASSERT(rc == MMF_OK || rc == MMF_ENOTFOUND);
        CU_ASSERT_EQUAL(write(gate[1], "x", 1), 1);
        double t0 = now_s();
        CU_ASSERT_EQUAL(mmf_wait(ns, "k", v, 10), MMF_OK);
        CU_ASSERT(now_s() - t0 < 9); /* woken, not timed out */
        uint64_t after;
        rc = mmf_get_v(ns, "k", buf, sizeof buf, &len, &after);
        CU_ASSERT(after != v);
    }
    CU_ASSERT_EQUAL(mmf_exists(ns, "k"), 1);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    close(gate[0]);
    close(gate[1]);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_lock_in_one_process_times_out_another(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "lock"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_set(ns, "k", "before", 6);
    CU_ASSERT_EQUAL_FATAL(mmf_lock(ns, 1), MMF_OK);
    pid_t pid = fork();
    if (pid == 0) {
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.timeout = 0.2;
        mmf *me;
        CHILD_REQUIRE(mmf_open(&o, &me) == MMF_OK); /* opening never waits */
        char buf[16];
        size_t len;
        CHILD_REQUIRE(mmf_get(me, "k", buf, sizeof buf, &len) == MMF_OK); /* reads go on */
        CHILD_REQUIRE(mmf_set(me, "k", "during", 6) == MMF_ETIMEDOUT);    /* in place */
        CHILD_REQUIRE(mmf_set(me, "new", "x", 1) == MMF_ETIMEDOUT);       /* structural */
        CHILD_REQUIRE(mmf_delete(me, "k") == MMF_ETIMEDOUT);
        CHILD_REQUIRE(mmf_lock(me, 0.1) == MMF_ETIMEDOUT);
        CHILD_REQUIRE(mmf_get(me, "k", buf, sizeof buf, &len) == MMF_OK && len == 6 &&
                      memcmp(buf, "before", 6) == 0);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    pid = fork();
    if (pid == 0) {
        mmf *me = open_ns(name, false, 10);
        CHILD_REQUIRE(me && mmf_set(me, "k", "after!", 6) == MMF_OK);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    expect_value(ns, "k", "after!", 6);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_writer_waits_for_lock_then_proceeds(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "lockwait"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_set(ns, "k", "0", 1);
    CU_ASSERT_EQUAL_FATAL(mmf_lock(ns, 1), MMF_OK);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *me = open_ns(name, false, 10);
        CHILD_REQUIRE(me && mmf_set(me, "k", "1", 1) == MMF_OK); /* waits for the unlock */
        _exit(0);
    }
    usleep(200000);
    char buf[4];
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(ns, "k", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT_EQUAL(buf[0], '0'); /* what the holder reads stays still */
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(mmf_get(ns, "k", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT_EQUAL(buf[0], '1');
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

#define ADDERS 8
#define ADDS 100000

static void test_eight_processes_count_exactly(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "count"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    pid_t pids[ADDERS];
    for (int p = 0; p < ADDERS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            mmf *me = open_ns(name, false, 10);
            CHILD_REQUIRE(me);
            for (int i = 0; i < ADDS; i++)
                CHILD_REQUIRE(mmf_add_i64(me, "counter", 1, NULL) == MMF_OK);
            _exit(0);
        }
    }
    for (int p = 0; p < ADDERS; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    int64_t total = 0;
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(ns, "counter", &total, sizeof total, &len), MMF_OK);
    CU_ASSERT_EQUAL(total, (int64_t)ADDERS * ADDS);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_creation_race(void) {
    unique_name(name, sizeof name, "race");
    mmf_unlink(name, NULL);
    enum { N = 8 };
    int gate[2];
    CU_ASSERT_EQUAL_FATAL(pipe(gate), 0);
    pid_t pids[N];
    for (int p = 0; p < N; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            char c;
            close(gate[1]);
            CHILD_REQUIRE(read(gate[0], &c, 1) == 0); /* all start when the pipe closes */
            mmf_options o = MMF_OPTIONS_INIT;
            o.name = name;
            mmf *me;
            CHILD_REQUIRE(mmf_open(&o, &me) == MMF_OK);
            char key[16];
            snprintf(key, sizeof key, "p%d", p);
            CHILD_REQUIRE(mmf_set(me, key, "here", 4) == MMF_OK);
            _exit(0);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (int p = 0; p < N; p++)
        CU_ASSERT_EQUAL(wait_child(pids[p]), 0);
    mmf *ns = open_ns(name, false, 10);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_stats st;
    mmf_stat(ns, &st);
    CU_ASSERT_EQUAL(st.vars, N); /* everyone wrote into the same namespace */
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_dead_lock_holder_is_recovered(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "deadholder"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_set(ns, "k", "kept", 4);
    int ready[2];
    CU_ASSERT_EQUAL_FATAL(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *me = open_ns(name, false, 10);
        CHILD_REQUIRE(me && mmf_lock(me, 1) == MMF_OK);
        CHILD_REQUIRE(write(ready[1], "L", 1) == 1);
        pause(); /* killed holding the lock */
        _exit(0);
    }
    char c;
    CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
    kill(pid, SIGKILL);
    CU_ASSERT_EQUAL(wait_child(pid), 100 + SIGKILL);
    mmf_stats before, after;
    mmf_stat(ns, &before);
    CU_ASSERT_EQUAL(mmf_set(ns, "k2", "new", 3), MMF_OK); /* structural: takes the mutex */
    CU_ASSERT_EQUAL(mmf_lock(ns, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    mmf_stat(ns, &after);
    CU_ASSERT_EQUAL(after.lock_recoveries, before.lock_recoveries + 1);
    expect_value(ns, "k", "kept", 4);
    CU_ASSERT_EQUAL(mmf_check(ns, stderr), MMF_OK);
    close(ready[0]);
    close(ready[1]);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

int main(void) {
    static const test_case tests[] = {
        {"set in one process, read in another", test_set_in_one_process_read_in_another},
        {"a forked child uses its parent's handle", test_forked_child_uses_parents_handle},
        {"the original module's example 1", test_original_example_1},
        {"the original module's example 2: signalling", test_original_example_2_signalling},
        {"wait wakes on set, delete and create", test_wait_wakes_on_set_delete_create},
        {"a lock in one process times out another's writes",
         test_lock_in_one_process_times_out_another},
        {"a writer waits for the lock, then proceeds", test_writer_waits_for_lock_then_proceeds},
        {"8 processes x 100,000 add_i64: exact", test_eight_processes_count_exactly},
        {"creation race: everyone opens the same namespace", test_creation_race},
        {"a dead lock holder is recovered", test_dead_lock_holder_is_recovered},
        {NULL, NULL}};
    return run_suite("multiprocess", tests);
}
