/*
 * Peers that are not simply dead: live writers of a large value that change
 * their own memory, a lock holder beside them, a writer stopped mid-write
 * (in our PID namespace and in another one), a writer killed and left a
 * zombie, and a forked child that holds its parent's descriptor. None of the
 * live ones may ever be taken for dead; every dead one must be.
 */
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "crash_common.h"

#define BIG (16u << 20)

static char name[128];

struct counts {
    atomic_long reads, torn, backwards, writes, errors, lock_sections, changed_under_lock;
    atomic_int stop;
};

static struct counts *shared_counts(void) {
    void *p = mmap(NULL, sizeof(struct counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
    CU_ASSERT_FATAL(p != MAP_FAILED);
    memset(p, 0, sizeof(struct counts));
    return p;
}

static int all_same(const unsigned char *b, size_t len) {
    return len > 0 && memcmp(b, b + 1, len - 1) == 0;
}

/* Rewrites "big" in place until told to stop, changing its own memory
   footprint after every write. */
static void big_writer(int id, struct counts *c, int leave_room_for_reader) {
    mmf *ns = open_ns(name, false, 60);
    CHILD_REQUIRE(ns);
    unsigned char *buf = malloc(BIG);
    CHILD_REQUIRE(buf);
    void *extra[8] = {0};
    for (unsigned k = 0; !atomic_load(&c->stop); k++) {
        memset(buf, id * 16 + (int)(k % 16) + 1, BIG);
        int rc = mmf_set(ns, "big", buf, BIG);
        if (rc) {
            fprintf(stderr, "writer %d: %s\n", id, mmf_strerror(rc));
            atomic_fetch_add(&c->errors, 1);
        } else {
            atomic_fetch_add(&c->writes, 1);
        }
        free(extra[k % 8]);
        extra[k % 8] = malloc((1u << 20) + k % 64 * 4096); /* mmap'd: the address space moves */
        if (extra[k % 8]) memset(extra[k % 8], 1, 4096);
        /* a seqlock reader of 16 MiB needs a quiet moment to finish a copy:
           give it one (up to 0.5 s), or two writers could starve it */
        long reads = atomic_load(&c->reads);
        for (int i = 0; i < (leave_room_for_reader ? 500 : 3) && atomic_load(&c->reads) == reads &&
                        !atomic_load(&c->stop);
             i++)
            usleep(1000);
    }
    _exit(0);
}

static mmf *big_namespace(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "peers"), 96u << 20, 16);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    unsigned char *buf = malloc(BIG);
    memset(buf, 1, BIG);
    CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "big", buf, BIG), MMF_OK);
    free(buf);
    return ns;
}

void test_live_writers_are_never_taken_over(void) {
    mmf *ns = big_namespace();
    struct counts *c = shared_counts();
    pid_t w[2];
    for (int i = 0; i < 2; i++)
        if ((w[i] = fork()) == 0) big_writer(i, c, 1);
    pid_t r = fork();
    if (r == 0) {
        mmf *rn = open_ns(name, false, 60);
        CHILD_REQUIRE(rn);
        unsigned char *buf = malloc(BIG);
        CHILD_REQUIRE(buf);
        uint64_t last = 0;
        double end = now_s() + (double)soak_count("MMF_SOAK_SECONDS", 3);
        /* at least 20 whole reads, however busy the machine */
        while (now_s() < end || atomic_load(&c->reads) < 20) {
            size_t len;
            uint64_t v;
            int rc = mmf_get_v(rn, "big", buf, BIG, &len, &v);
            if (rc) {
                fprintf(stderr, "reader: %s\n", mmf_strerror(rc));
                atomic_fetch_add(&c->errors, 1);
                break;
            }
            atomic_fetch_add(&c->reads, 1);
            if (len != BIG || !all_same(buf, len)) atomic_fetch_add(&c->torn, 1);
            if (v < last) atomic_fetch_add(&c->backwards, 1);
            last = v;
        }
        atomic_store(&c->stop, 1);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(r), 0);
    atomic_store(&c->stop, 1);
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL(wait_child(w[i]), 0);
    printf("\n  2 live writers of 16 MiB, %ld writes; %ld reads: %ld torn, %ld backwards, "
           "%llu takeovers",
           atomic_load(&c->writes), atomic_load(&c->reads), atomic_load(&c->torn),
           atomic_load(&c->backwards), (unsigned long long)takeovers(name));
    CU_ASSERT_EQUAL(atomic_load(&c->errors), 0);
    CU_ASSERT(atomic_load(&c->writes) > 0);
    CU_ASSERT(atomic_load(&c->reads) >= 20);
    CU_ASSERT_EQUAL(atomic_load(&c->torn), 0);
    CU_ASSERT_EQUAL(atomic_load(&c->backwards), 0);
    CU_ASSERT_EQUAL(takeovers(name), 0);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    munmap(c, sizeof *c);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

void test_lock_holder_sees_no_change_from_live_writers(void) {
    mmf *ns = big_namespace();
    struct counts *c = shared_counts();
    pid_t w[2];
    for (int i = 0; i < 2; i++)
        if ((w[i] = fork()) == 0) big_writer(i, c, 0);
    unsigned char *buf = malloc(BIG);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    for (int round = 0; round < 20; round++) {
        CU_ASSERT_EQUAL_FATAL(mmf_lock(ns, 60), MMF_OK);
        size_t len;
        uint64_t v1, v2;
        CU_ASSERT_EQUAL(mmf_get_v(ns, "big", buf, BIG, &len, &v1), MMF_OK);
        unsigned char b1 = buf[0];
        usleep(20000); /* the writers keep trying meanwhile */
        CU_ASSERT_EQUAL(mmf_get_v(ns, "big", buf, BIG, &len, &v2), MMF_OK);
        atomic_fetch_add(&c->lock_sections, 1);
        if (v1 != v2 || b1 != buf[0] || !all_same(buf, len))
            atomic_fetch_add(&c->changed_under_lock, 1);
        CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
        usleep(5000);
    }
    atomic_store(&c->stop, 1);
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL(wait_child(w[i]), 0);
    printf("\n  20 lock sections beside 2 live writers (%ld writes): %ld saw a change",
           atomic_load(&c->writes), atomic_load(&c->changed_under_lock));
    CU_ASSERT_EQUAL(atomic_load(&c->changed_under_lock), 0);
    CU_ASSERT_EQUAL(atomic_load(&c->errors), 0);
    CU_ASSERT_EQUAL(takeovers(name), 0);
    free(buf);
    munmap(c, sizeof *c);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

/* A writer that stops itself mid-write (SIGSTOP at inplace.written), run as
   the grandchild of a process that may have entered a new PID namespace.
   Its parent (the namespace's init, which cannot be signalled from inside)
   reports the stop and carries out the test's command. */
struct stop_ctl {
    atomic_int stopped, command, skipped; /* command: SIGCONT or SIGKILL */
};

static void stopping_writer(struct stop_ctl *ctl, int other_pidns) {
    if (other_pidns && unshare(CLONE_NEWPID) != 0) {
        atomic_store(&ctl->skipped, 1);
        _exit(0);
    }
    pid_t middle = fork();
    if (middle == 0) { /* pid 1 of the new namespace, if there is one */
        pid_t w = fork();
        if (w == 0) {
            mmf *ns = open_ns(name, false, 10);
            CHILD_REQUIRE(ns);
            setenv("MMF_CRASH_AT", "inplace.written", 1);
            setenv("MMF_CRASH_STOP", "1", 1);
            char buf[40];
            memset(buf, 'n', sizeof buf);
            _exit(mmf_set(ns, "s", buf, sizeof buf) == MMF_OK ? 0 : 1);
        }
        int st;
        CHILD_REQUIRE(waitpid(w, &st, WUNTRACED) == w && WIFSTOPPED(st));
        atomic_store(&ctl->stopped, 1);
        int cmd;
        while (!(cmd = atomic_load(&ctl->command)))
            usleep(1000);
        kill(w, cmd);
        _exit(wait_child(w) == (cmd == SIGKILL ? 100 + SIGKILL : 0) ? 0 : 1);
    }
    _exit(wait_child(middle));
}

static int stopped_writer_round(int other_pidns, int command) {
    char buf[64];
    size_t len;
    uint64_t before = 0;
    mmf *ns = open_ns(name, false, 0.5), *ro = open_ns(name, true, 0.5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ro);
    CU_ASSERT_EQUAL(mmf_get_v(ns, "s", buf, sizeof buf, &len, &before), MMF_OK);
    struct stop_ctl *ctl =
        mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(ctl, 0, sizeof *ctl);
    pid_t pid = fork();
    if (pid == 0) stopping_writer(ctl, other_pidns);
    for (int i = 0; i < 20000 && !atomic_load(&ctl->stopped) && !atomic_load(&ctl->skipped); i++)
        usleep(1000);
    if (atomic_load(&ctl->skipped)) {
        wait_child(pid);
        munmap(ctl, sizeof *ctl);
        mmf_close(ns);
        mmf_close(ro);
        return -1;
    }
    CU_ASSERT_FATAL(atomic_load(&ctl->stopped));
    /* alive, so never taken over: writers and readers wait, then time out */
    memset(buf, 'x', 40);
    CU_ASSERT_EQUAL(mmf_set(ns, "s", buf, 40), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_get(ns, "s", buf, sizeof buf, &len), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_get(ro, "s", buf, sizeof buf, &len), MMF_ETIMEDOUT);
    /* a wait keeps its own timeout beside it, asleep */
    mmf *slow = open_ns(name, false, 30), *slow_ro = open_ns(name, true, 30);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow);
    CU_ASSERT_PTR_NOT_NULL_FATAL(slow_ro);
    double t0 = now_s(), c0 = cpu_s();
    CU_ASSERT_EQUAL(mmf_wait(slow, "s", before, 0.3), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_wait(slow_ro, "s", before, 0.3), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_wait(slow, "s", before - 2, 0.3), MMF_OK); /* differs already */
    CU_ASSERT(now_s() - t0 < 10);                                  /* not the handles' 30 s */
    CU_ASSERT(cpu_s() - c0 < 0.2);
    mmf_close(slow);
    mmf_close(slow_ro);
    /* nor does a process that entered another PID namespace with an
       inherited handle take it for dead */
    pid_t c1 = fork();
    if (c1 == 0) {
        if (unshare(CLONE_NEWPID) != 0) _exit(77);
        pid_t c2 = fork();
        if (c2 == 0) _exit(mmf_set(ns, "s", buf, 40) == MMF_ETIMEDOUT ? 0 : 1);
        _exit(wait_child(c2));
    }
    int c1_status = wait_child(c1);
    CU_ASSERT(c1_status == 0 || (c1_status == 77 && geteuid() != 0));
    CU_ASSERT_EQUAL(takeovers(name), 0);
    atomic_store(&ctl->command, command);
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    munmap(ctl, sizeof *ctl);
    mmf_close(ro);
    /* continued, its value lands; killed, the next writer takes over */
    mmf_close(ns);
    ns = open_ns(name, false, 5);
    CU_ASSERT_EQUAL(mmf_get(ns, "s", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT(len == 40 && buf[0] == (command == SIGCONT ? 'n' : 'o') && buf[39] == buf[0]);
    memset(buf, 'o', 40);
    CU_ASSERT_EQUAL(mmf_set(ns, "s", buf, 40), MMF_OK);
    mmf_close(ns);
    return 0;
}

static void stopped_writer(int other_pidns) {
    mmf *ns = fresh(unique_name(name, sizeof name, "stopped"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    char old[40];
    memset(old, 'o', sizeof old);
    CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "s", old, sizeof old), MMF_OK);
    if (stopped_writer_round(other_pidns, SIGCONT) < 0) {
        printf("\n  not run: a new PID namespace needs root");
        if (getenv("CI")) CU_FAIL("CI must run this test as root");
    } else {
        CU_ASSERT_EQUAL(takeovers(name), 0);
        CU_ASSERT_EQUAL(stopped_writer_round(other_pidns, SIGKILL), 0);
        CU_ASSERT_EQUAL(takeovers(name), 1);
        CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    }
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

void test_stopped_writer_is_waited_for(void) {
    stopped_writer(0);
}

void test_stopped_writer_in_another_pid_namespace(void) {
    stopped_writer(1);
}

/* A writer killed mid-write, left unreaped: a zombie holds no registration. */
static pid_t zombie_writer(const char *key) {
    pid_t pid = fork();
    if (pid == 0) {
        mmf *ns = open_ns(name, false, 10);
        CHILD_REQUIRE(ns);
        setenv("MMF_CRASH_AT", "inplace.written", 1);
        char buf[40];
        memset(buf, 'n', sizeof buf);
        mmf_set(ns, key, buf, sizeof buf);
        _exit(3);
    }
    siginfo_t si;
    CU_ASSERT_EQUAL(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0); /* not reaped */
    CU_ASSERT_EQUAL(si.si_status, SIGKILL);
    CU_ASSERT_EQUAL(proc_state(pid), 'Z');
    return pid;
}

void test_zombie_writer(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "zombie"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    char buf[64];
    size_t len, count;
    memset(buf, 'o', 40);
    CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "z", buf, 40), MMF_OK);
    CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "z0", buf, 40), MMF_OK);
    pid_t z1 = zombie_writer("z");
    CU_ASSERT_EQUAL(mmf_attached(ns, NULL, 0, &count), MMF_OK);
    CU_ASSERT_EQUAL(count, 1); /* the zombie stopped counting */
    CU_ASSERT_EQUAL(mmf_get(ns, "z", buf, sizeof buf, &len), MMF_OK);
    CU_ASSERT(len == 40 && buf[0] == 'o' && buf[39] == 'o');
    memset(buf, 'x', 40);
    CU_ASSERT_EQUAL(mmf_set(ns, "z", buf, 40), MMF_OK);
    CU_ASSERT_EQUAL(takeovers(name), 1);
    /* with timeout 0 (forever) too: the parent must not wait for itself */
    pid_t z2 = zombie_writer("z0");
    mmf *forever = open_ns(name, false, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(forever);
    alarm(60); /* a hang fails the suite instead of blocking it */
    CU_ASSERT_EQUAL(mmf_set(forever, "z0", buf, 40), MMF_OK);
    CU_ASSERT_EQUAL(mmf_get(forever, "z0", buf, sizeof buf, &len), MMF_OK);
    alarm(0);
    CU_ASSERT(len == 40 && buf[0] == 'x');
    CU_ASSERT_EQUAL(takeovers(name), 2);
    CU_ASSERT_EQUAL(wait_child(z1), 100 + SIGKILL);
    CU_ASSERT_EQUAL(wait_child(z2), 100 + SIGKILL);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(forever);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

/* P opens, forks K (who inherits P's descriptor), and dies mid-write once K
   is ready. K's pid comes back through *child. */
static pid_t parent_dies_with_child(int child_writes, pid_t *child) {
    int to_t[2], to_p[2];
    CU_ASSERT_FATAL(pipe(to_t) == 0 && pipe(to_p) == 0);
    pid_t p = fork();
    if (p == 0) {
        mmf *ns = open_ns(name, false, 10);
        CHILD_REQUIRE(ns);
        pid_t k = fork();
        if (k == 0) {
            /* a child that writes registers on its own; one that does not
               keeps only the inherited descriptor */
            if (child_writes) CHILD_REQUIRE(mmf_set(ns, "k", "1", 1) == MMF_OK);
            k = getpid();
            CHILD_REQUIRE(write(to_t[1], &k, sizeof k) == (ssize_t)sizeof k);
            CHILD_REQUIRE(write(to_p[1], "r", 1) == 1);
            sleep(120);
            _exit(0);
        }
        char r;
        CHILD_REQUIRE(read(to_p[0], &r, 1) == 1);
        setenv("MMF_CRASH_AT", "inplace.written", 1);
        char buf[40];
        memset(buf, 'n', sizeof buf);
        mmf_set(ns, "f", buf, sizeof buf);
        _exit(3);
    }
    CU_ASSERT_EQUAL(read(to_t[0], child, sizeof *child), (ssize_t)sizeof *child);
    close(to_t[0]);
    close(to_t[1]);
    close(to_p[0]);
    close(to_p[1]);
    return p;
}

void test_forked_child_keeps_no_parent_alive(void) {
    mmf *ns = fresh(unique_name(name, sizeof name, "fork"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_close(ns);
    ns = open_ns(name, false, 5);
    char buf[64];
    size_t len, count;
    memset(buf, 'o', 40);
    CU_ASSERT_EQUAL_FATAL(mmf_set(ns, "f", buf, 40), MMF_OK);
    /* K writes (registers anew) or not; P is left a zombie or reaped */
    static const struct { int child_writes, reap; } cases[] = {{0, 0}, {0, 1}, {1, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pid_t k;
        pid_t p = parent_dies_with_child(cases[i].child_writes, &k);
        siginfo_t si;
        CU_ASSERT_EQUAL(waitid(P_PID, (id_t)p, &si, WEXITED | WNOWAIT), 0);
        if (cases[i].reap) CU_ASSERT_EQUAL(wait_child(p), 100 + SIGKILL);
        if (cases[i].child_writes) {
            /* K registered anew and dropped P's description: P holds nothing;
               K and we are attached */
            CU_ASSERT_EQUAL(mmf_attached(ns, NULL, 0, &count), MMF_OK);
            CU_ASSERT_EQUAL(count, 2);
        }
        /* else K still holds P's description, and P is judged by its pid:
           a zombie, or free once reaped */
        memset(buf, 'x', 40);
        CU_ASSERT_EQUAL(mmf_set(ns, "f", buf, 40), MMF_OK);
        CU_ASSERT_EQUAL(mmf_get(ns, "f", buf, sizeof buf, &len), MMF_OK);
        CU_ASSERT(len == 40 && buf[0] == 'x');
        kill(k, SIGKILL);
        if (!cases[i].reap) CU_ASSERT_EQUAL(wait_child(p), 100 + SIGKILL);
        for (int j = 0; j < 1000 && proc_state(k) != 0 && proc_state(k) != 'Z'; j++)
            usleep(1000);
    }
    CU_ASSERT_EQUAL(takeovers(name), 3);
    CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}
