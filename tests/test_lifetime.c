/*
 * Who is attached, and how long a namespace lives: mmf_attached counts
 * processes (not handles), and a killed one stops counting at once, reaped
 * or not; a transient namespace goes with the last process that closes it,
 * and one whose processes all died is absent to the next opener. Also: the
 * explicit lock taken through one handle is held through another handle of
 * the same process.
 */
#include <sys/stat.h>

#include "crash_common.h"

static char name[128];

static int exists_on_disk(void) {
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    return stat(path, &st) == 0;
}

static mmf *open_with(bool transient, bool reuse, bool exclusive, int *rc) {
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.transient = transient;
    o.reuse = reuse;
    o.exclusive = exclusive;
    mmf *ns = NULL;
    *rc = mmf_open(&o, &ns);
    return ns;
}

/* A child that opens the namespace, says so, and waits for EOF on cmd
   before it closes and exits. */
static pid_t attached_child(const int cmd[2], int ready_write) {
    pid_t pid = fork();
    if (pid == 0) {
        close(cmd[1]);
        mmf *ns = open_ns(name, false, 5);
        CHILD_REQUIRE(ns);
        mmf *second = open_ns(name, false, 5); /* a second handle: still one process */
        CHILD_REQUIRE(second);
        CHILD_REQUIRE(write(ready_write, "r", 1) == 1);
        char c;
        CHILD_REQUIRE(read(cmd[0], &c, 1) >= 0);
        mmf_close(second);
        mmf_close(ns);
        _exit(0);
    }
    return pid;
}

static void test_attached_counts_processes(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "attached"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    int cmd[2], ready[2];
    CU_ASSERT_FATAL(pipe(cmd) == 0 && pipe(ready) == 0);
    pid_t kids[2];
    char r;
    for (int i = 0; i < 2; i++) {
        kids[i] = attached_child(cmd, ready[1]);
        CU_ASSERT_EQUAL(read(ready[0], &r, 1), 1);
    }
    int32_t pids[8];
    size_t count = 0;
    CU_ASSERT_EQUAL(mmf_attached(ns, pids, 8, &count), MMF_OK);
    CU_ASSERT_EQUAL(count, 3);
    int seen = 0;
    for (size_t i = 0; i < count && i < 8; i++)
        seen += pids[i] == getpid() || pids[i] == kids[0] || pids[i] == kids[1];
    CU_ASSERT_EQUAL(seen, 3);
    mmf_stats st;
    CU_ASSERT_EQUAL(mmf_stat(ns, &st), MMF_OK);
    CU_ASSERT_EQUAL(st.attached, 3);
    /* killed: it stops counting at once, before anyone reaps it */
    kill(kids[0], SIGKILL);
    siginfo_t si;
    CU_ASSERT_EQUAL(waitid(P_PID, (id_t)kids[0], &si, WEXITED | WNOWAIT), 0);
    CU_ASSERT_EQUAL(mmf_attached(ns, NULL, 0, &count), MMF_OK);
    CU_ASSERT_EQUAL(count, 2);
    close(cmd[1]); /* the other closes its handles and leaves */
    CU_ASSERT_EQUAL(wait_child(kids[1]), 0);
    CU_ASSERT_EQUAL(mmf_attached(ns, NULL, 0, &count), MMF_OK);
    CU_ASSERT_EQUAL(count, 1);
    CU_ASSERT_EQUAL(mmf_attached(ns, NULL, 1, &count), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_attached(ns, pids, 1, NULL), MMF_EINVAL);
    wait_child(kids[0]);
    close(cmd[0]);
    close(ready[0]);
    close(ready[1]);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_transient_goes_with_the_last_closer(void) {
    unique_name(name, sizeof name, "transient");
    int rc;
    mmf *a = open_with(true, false, false, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(a, "k", "v", 1), MMF_OK);
    int cmd[2], ready[2];
    CU_ASSERT_FATAL(pipe(cmd) == 0 && pipe(ready) == 0);
    pid_t b = attached_child(cmd, ready[1]);
    char r;
    CU_ASSERT_EQUAL(read(ready[0], &r, 1), 1);
    mmf_close(a); /* another process is attached: it stays */
    CU_ASSERT(exists_on_disk());
    a = open_ns(name, false, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char buf[8];
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(a, "k", buf, sizeof buf, &len), MMF_OK);
    close(cmd[1]); /* b leaves: a is still attached */
    CU_ASSERT_EQUAL(wait_child(b), 0);
    CU_ASSERT(exists_on_disk());
    mmf_close(a); /* the last one */
    CU_ASSERT(!exists_on_disk());
    close(cmd[0]);
    close(ready[0]);
    close(ready[1]);
    /* a persistent one stays */
    a = open_with(false, false, false, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, MMF_OK);
    mmf_close(a);
    CU_ASSERT(exists_on_disk());
    mmf_unlink(name, NULL);
}

/* A child creates a transient namespace with a variable and is killed. */
static void transient_owner_killed(int reap) {
    pid_t pid = fork();
    if (pid == 0) {
        int rc;
        mmf *ns = open_with(true, false, false, &rc);
        CHILD_REQUIRE(rc == MMF_OK && mmf_set(ns, "k", "old", 3) == MMF_OK);
        raise(SIGKILL);
    }
    siginfo_t si;
    CU_ASSERT_EQUAL(waitid(P_PID, (id_t)pid, &si, WEXITED | (reap ? 0 : WNOWAIT)), 0);
    CU_ASSERT(exists_on_disk()); /* nobody closed it */
    if (!reap) CU_ASSERT_EQUAL(proc_state(pid), 'Z');
    if (!reap) wait_child(pid);
}

static void test_transient_with_its_processes_dead_is_absent(void) {
    unique_name(name, sizeof name, "transient.dead");
    int rc;
    char buf[8];
    size_t len;
    for (int reap = 0; reap < 2; reap++) {
        transient_owner_killed(reap);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.readonly = true;
        mmf *ns = NULL;
        CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_ENOENT); /* read-only: absent, left alone */
        CU_ASSERT(exists_on_disk());
        ns = open_with(false, true, false, &rc); /* reuse: absent, and removed */
        CU_ASSERT_EQUAL(rc, MMF_ENOENT);
        CU_ASSERT(!exists_on_disk());
    }
    transient_owner_killed(1);
    mmf *ns = open_with(true, false, false, &rc); /* created afresh */
    CU_ASSERT_EQUAL_FATAL(rc, MMF_OK);
    CU_ASSERT_EQUAL(mmf_get(ns, "k", buf, sizeof buf, &len), MMF_ENOTFOUND);
    mmf_close(ns);
    CU_ASSERT(!exists_on_disk());
    transient_owner_killed(1);
    ns = open_with(true, false, true, &rc); /* exclusive: the stale one is no obstacle */
    CU_ASSERT_EQUAL_FATAL(rc, MMF_OK);
    CU_ASSERT_EQUAL(mmf_get(ns, "k", buf, sizeof buf, &len), MMF_ENOTFOUND);
    mmf *again = open_with(true, false, true, &rc); /* but a live one is */
    CU_ASSERT_EQUAL(rc, MMF_EEXIST);
    CU_ASSERT_PTR_NULL(again);
    mmf_close(ns);
    CU_ASSERT(!exists_on_disk());
}

static void test_lock_held_through_another_handle(void) {
    mmf *a = fresh(unique_name(name, sizeof name, "twohandles"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.autolock = false;
    mmf *b = NULL;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &b), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(b, "k", "v", 1), MMF_ENOLOCK);
    CU_ASSERT_EQUAL(mmf_lock(a, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(b, "k", "v", 1), MMF_OK); /* held by this thread, through a */
    CU_ASSERT_EQUAL(mmf_lock(b, 1), MMF_OK);          /* recursive across handles */
    CU_ASSERT_EQUAL(mmf_unlock(b), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(b), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(a), MMF_ENOLOCK);
    CU_ASSERT_EQUAL(mmf_set(b, "k", "w", 1), MMF_ENOLOCK);
    /* closing a handle releases only what was locked through it */
    CU_ASSERT_EQUAL(mmf_lock(a, 1), MMF_OK);
    mmf_close(b);
    pid_t pid = fork();
    if (pid == 0) {
        mmf *other = open_ns(name, false, 0.3);
        CHILD_REQUIRE(other && mmf_set(other, "k", "x", 1) == MMF_ETIMEDOUT);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(mmf_unlock(a), MMF_OK);
    /* locked through a, unlocked through c, locked through c: closing a
       leaves c's lock alone */
    mmf *c = open_ns(name, false, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(mmf_lock(a, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(c), MMF_OK);
    CU_ASSERT_EQUAL(mmf_lock(c, 1), MMF_OK);
    mmf_close(a);
    pid = fork();
    if (pid == 0) {
        mmf *other = open_ns(name, false, 0.3);
        CHILD_REQUIRE(other && mmf_set(other, "k", "y", 1) == MMF_ETIMEDOUT);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(mmf_unlock(c), MMF_OK);
    mmf_close(c);
    mmf_unlink(name, NULL);
}

static void test_readers_keep_a_transient_namespace(void) {
    unique_name(name, sizeof name, "transient.ro");
    int rc;
    mmf *a = open_with(true, false, false, &rc);
    CU_ASSERT_EQUAL_FATAL(rc, MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(a, "k", "v1", 2), MMF_OK);
    mmf *ro = open_ns(name, true, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    mmf_close(a); /* the reader still uses it */
    CU_ASSERT(exists_on_disk());
    a = open_ns(name, false, 5); /* so it is there for the next writer, variables and all */
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(mmf_set(a, "k", "v2", 2), MMF_OK);
    expect_value(ro, "k", "v2", 2); /* one namespace, not two */
    mmf_close(a);
    CU_ASSERT(exists_on_disk());
    mmf_close(ro); /* the last one, a reader: it leaves the namespace stale */
    a = open_with(false, true, false, &rc);
    CU_ASSERT_EQUAL(rc, MMF_ENOENT); /* for the next opener, which removes it */
    CU_ASSERT(!exists_on_disk());
}

int main(void) {
    static const test_case tests[] = {
        {"mmf_attached counts processes; a killed one stops counting at once",
         test_attached_counts_processes},
        {"a transient namespace goes with the last process that closes it",
         test_transient_goes_with_the_last_closer},
        {"a transient namespace whose processes all died is absent",
         test_transient_with_its_processes_dead_is_absent},
        {"the lock taken through one handle is held through another, and stays when it closes",
         test_lock_held_through_another_handle},
        {"read-only handles keep a transient namespace", test_readers_keep_a_transient_namespace},
        {NULL, NULL}};
    return run_suite("lifetime", tests);
}
