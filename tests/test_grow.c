/*
 * Growth while in use (protocol.md, Growth), across processes:
 *
 *  - two writers insert 300,000 variables into a namespace created at
 *    256 KiB while a reader that attached before any growth checks every
 *    value it reads;
 *  - growth stops at max_size with MMF_ENOSPC, changing nothing, and
 *    deleting makes room again;
 *  - on a full file system (a 2 MiB tmpfs) writes end with MMF_ENOSPC,
 *    never SIGBUS;
 *  - delete + insert churn near the starting capacity keeps probes bounded
 *    and tombstones under an eighth of the index;
 *  - variable handles stay right across growth and compaction;
 *  - a reader stopped (SIGSTOP) in the middle of its reads while the index
 *    is rebuilt many times reads every variable right once continued, also
 *    from a PID namespace of its own.
 *
 * Nothing here measures speed: the only clocks are bounds that prove a
 * child does not hang (alarm), and run times printed for information.
 * Random choices come from seeds printed with the results (MMF_TEST_SEED
 * replays one).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "crash_common.h"

/* core/inspect.c: entries a lookup of key visits in the index in use */
uint64_t mmf__probes(mmf *ns, const char *key);

static char nsname[128];
static const char *self_exe;

/* MMF_TEST_SEED, or one from the clock. */
static uint64_t test_seed(void) {
    const char *v = getenv("MMF_TEST_SEED");
    uint64_t seed = v ? strtoull(v, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
    return seed | 1;
}

static uint64_t rnd(uint64_t *s) { /* xorshift64*: deterministic, seeded */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static mmf *create(const char *name, const char *path, uint64_t size, uint64_t max_size,
                   uint32_t max_vars) {
    mmf_unlink(name, path);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.path = path;
    o.size = size;
    o.max_size = max_size;
    o.max_vars = max_vars;
    return open_or_say(&o);
}

static mmf *attach(const char *name, const char *path, bool readonly) {
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.path = path;
    o.reuse = true;
    o.readonly = readonly;
    return open_or_say(&o);
}

/* mmf_check, saying what it found only when it finds something. */
static int check(mmf *ns) {
    int rc = mmf_check(ns, NULL);
    if (rc == MMF_ECORRUPT) mmf_check(ns, stderr);
    return rc;
}

static mmf_stats stats(mmf *ns) {
    mmf_stats st = {0};
    CU_ASSERT_EQUAL(mmf_stat(ns, &st), MMF_OK);
    return st;
}

/* ---- values that check themselves ---------------------------------------- */

/* Variable i of writer w: key "w<w>.<i>", key id (w << 24 | i), a length
   derived from i: mostly small (inline), one in 64 of 4 KiB; writer 9's all of 4 KiB. */
static uint32_t key_id(unsigned w, uint32_t i) {
    return (uint32_t)w << 24 | i;
}
static void key_of(char *key, size_t n, unsigned w, uint32_t i) {
    snprintf(key, n, "w%u.%u", w, i);
}
static size_t len_of(unsigned w, uint32_t i) {
    return w == 9 || i % 64 == 7 ? 4096 : 12 + i % 41;
}

/* Whether w.i reads back as written: 1 yes, 0 missing, -1 wrong or error. */
static int read_back(mmf *ns, unsigned w, uint32_t i) {
    char key[32];
    unsigned char buf[4096];
    size_t len = 0;
    key_of(key, sizeof key, w, i);
    int rc = mmf_get(ns, key, buf, sizeof buf, &len);
    if (rc == MMF_ENOTFOUND) return 0;
    if (rc != MMF_OK || len != len_of(w, i) || !value_ok(buf, len, key_id(w, i))) {
        fprintf(stderr, "\n  %s: rc %d (%s), len %zu of %zu, value %s\n", key, rc, mmf_strerror(rc),
                len, len_of(w, i), value_ok(buf, len, key_id(w, i)) ? "ok" : "bad");
        return -1;
    }
    return 1;
}

static int write_var(mmf *ns, unsigned w, uint32_t i) {
    char key[32];
    unsigned char buf[4096];
    key_of(key, sizeof key, w, i);
    size_t len = make_value(buf, key_id(w, i), 0, len_of(w, i));
    return mmf_set(ns, key, buf, len);
}

static int64_t get_i64(mmf *ns, const char *key) {
    int64_t v = 0;
    size_t len;
    return mmf_get(ns, key, &v, sizeof v, &len) == MMF_OK && len == sizeof v ? v : 0;
}

/* ---- 1. 300,000 variables from two writers, a reader attached at 256 KiB -- */

#define WRITERS 2

static uint32_t per_writer(void) {
    /* 300,000 in all (a few seconds, under ASan too); MMF_GROW_VARS for more */
    return (uint32_t)(soak_count("MMF_GROW_VARS", 300000) / WRITERS);
}

static void writer(unsigned w, uint32_t n) {
    alarm(240); /* a hang fails as a signal */
    mmf *ns = attach(nsname, NULL, false);
    CHILD_REQUIRE(ns);
    char prog[16];
    snprintf(prog, sizeof prog, "prog.%u", w);
    for (uint32_t i = 0; i < n; i++) {
        int rc = write_var(ns, w, i);
        if (rc) fprintf(stderr, "writer %u: w%u.%u: %s\n", w, w, i, mmf_strerror(rc));
        CHILD_REQUIRE(rc == MMF_OK);
        if (i % 256 == 255 || i == n - 1) { /* progress, for the reader: in place */
            int64_t done = (int64_t)i + 1;
            CHILD_REQUIRE(mmf_set(ns, prog, &done, sizeof done) == MMF_OK);
        }
    }
    mmf_close(ns);
    _exit(0);
}

/* The reader, in a process of its own (exec'd: it shares nothing with the
   test but the namespace's name). It attached before the writers started,
   when the namespace was 256 KiB, and never reopens: everything the writers
   report as written must read back whole, and a variable not yet reported
   is either missing or whole. At the end, the last one of each writer. */
static int reader_main(const char *name, uint32_t n, int ready_fd) {
    alarm(240);
    mmf *ns = attach(name, NULL, false);
    if (!ns) return 2;
    mmf_stats st0;
    if (mmf_stat(ns, &st0) || st0.grows != 0) {
        fprintf(stderr, "reader: attached after a growth (%llu)\n", (unsigned long long)st0.grows);
        return 2;
    }
    if (write(ready_fd, "r", 1) != 1) return 2;
    close(ready_fd);
    uint64_t seed = test_seed(), s = seed;
    uint64_t reads = 0, ahead_found = 0;
    char prog[16];
    for (;;) {
        int64_t done[WRITERS];
        int finished = 1;
        for (unsigned w = 0; w < WRITERS; w++) {
            snprintf(prog, sizeof prog, "prog.%u", w);
            done[w] = get_i64(ns, prog);
            finished &= done[w] == (int64_t)n;
        }
        for (unsigned w = 0; w < WRITERS; w++) {
            if (done[w] == 0) continue;
            /* the newest reported, then a few anywhere in what is reported */
            uint32_t pick[4] = {(uint32_t)done[w] - 1};
            for (int j = 1; j < 4; j++)
                pick[j] = (uint32_t)(rnd(&s) % (uint64_t)done[w]);
            for (int j = 0; j < 4; j++, reads++) {
                if (read_back(ns, w, pick[j]) != 1) {
                    fprintf(stderr, "reader (seed %llu): w%u.%u reported but not read back\n",
                            (unsigned long long)seed, w, pick[j]);
                    return 1;
                }
            }
            /* one not reported yet: missing, or whole */
            uint32_t ahead = (uint32_t)done[w] + (uint32_t)(rnd(&s) % 300);
            if (ahead < n) {
                int r = read_back(ns, w, ahead);
                if (r < 0) return 1;
                ahead_found += (uint64_t)r;
            }
        }
        if (finished) break;
    }
    for (unsigned w = 0; w < WRITERS; w++)
        if (read_back(ns, w, n - 1) != 1) return 1;
    mmf_stats st;
    if (mmf_stat(ns, &st) || st.grows == 0) return 1;
    printf("\n  reader attached at %llu bytes: %llu reads checked (%llu ahead of the reports), "
           "now %llu bytes",
           (unsigned long long)st0.size, (unsigned long long)reads, (unsigned long long)ahead_found,
           (unsigned long long)st.size);
    fflush(stdout);
    mmf_close(ns);
    return 0;
}

static void test_two_writers_one_reader(void) {
    uint32_t n = per_writer();
    double t0 = now_s();
    mmf *ns =
        create(unique_name(nsname, sizeof nsname, "grow.big"), NULL, 256u << 10, 512ull << 20, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    mmf_stats st = stats(ns);
    CU_ASSERT_EQUAL(st.size, 256u << 10);
    CU_ASSERT_EQUAL(st.grows, 0);

    int ready[2];
    CU_ASSERT_FATAL(pipe(ready) == 0);
    pid_t reader = fork();
    if (reader == 0) {
        close(ready[0]);
        char nbuf[16], fdbuf[16];
        snprintf(nbuf, sizeof nbuf, "%u", n);
        snprintf(fdbuf, sizeof fdbuf, "%d", ready[1]);
        execl(self_exe, self_exe, "--reader", nsname, nbuf, fdbuf, (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char c;
    CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1); /* attached, before any growth */
    close(ready[0]);

    pid_t w[WRITERS];
    for (unsigned i = 0; i < WRITERS; i++)
        if ((w[i] = fork()) == 0) writer(i, n);
    for (unsigned i = 0; i < WRITERS; i++)
        CU_ASSERT_EQUAL(wait_child(w[i]), 0);
    CU_ASSERT_EQUAL(wait_child(reader), 0);
    double t_write = now_s() - t0;

    CU_ASSERT_EQUAL(mmf_delete(ns, "prog.0"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_delete(ns, "prog.1"), MMF_OK);
    CU_ASSERT_EQUAL(check(ns), MMF_OK);
    st = stats(ns);
    CU_ASSERT(st.grows > 0);
    CU_ASSERT(st.index_rebuilds > 0);
    CU_ASSERT_EQUAL(st.vars, (uint64_t)WRITERS * n);
    CU_ASSERT(st.size <= 512ull << 20);
    uint64_t bad = 0, missing = 0;
    for (unsigned k = 0; k < WRITERS; k++)
        for (uint32_t i = 0; i < n; i++) {
            int r = read_back(ns, k, i);
            bad += r < 0;
            missing += r == 0;
        }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(missing, 0);
    printf("\n  %u variables from %d writers: %.1f s; %llu grows, %llu index rebuilds, "
           "%llu bytes committed",
           WRITERS * n, WRITERS, t_write, (unsigned long long)st.grows,
           (unsigned long long)st.index_rebuilds, (unsigned long long)st.size);
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

/* ---- 2. max_size ------------------------------------------------------- */

/* Bytes the file has on its file system. */
static uint64_t file_bytes(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_blocks * 512u : UINT64_MAX;
}

/* Writes w.i for i from *n on until MMF_ENOSPC, checking after each write
   that the committed size stays within max; MMF_ENOSPC must change nothing.
   Returns the last rc. */
static int fill(mmf *ns, unsigned w, uint32_t *n, uint64_t max) {
    for (;;) {
        mmf_stats before = stats(ns);
        int rc = write_var(ns, w, *n);
        mmf_stats after = stats(ns);
        CU_ASSERT(after.size <= max);
        if (after.size > max) {
            fprintf(stderr, "\n  %llu bytes committed, over max_size %llu\n",
                    (unsigned long long)after.size, (unsigned long long)max);
            return MMF_ECORRUPT;
        }
        if (rc != MMF_OK) {
            CU_ASSERT_EQUAL(read_back(ns, w, *n), 0); /* nothing changed */
            CU_ASSERT_EQUAL(after.vars, before.vars);
            CU_ASSERT_EQUAL(after.heap_used, before.heap_used);
            return rc;
        }
        ++*n;
    }
}

static void test_max_size_stops_growth(void) {
    const uint64_t max = 2u << 20;
    mmf *ns = create(unique_name(nsname, sizeof nsname, "grow.max"), NULL, 64u << 10, max, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    /* w9: 4 KiB values until the heap cannot grow; then w0, mostly small
       ones (inline: a slot and an index entry each) until slots or index
       cannot either */
    uint32_t n9 = 0, n0 = 0;
    CU_ASSERT_EQUAL(fill(ns, 9, &n9, max), MMF_ENOSPC);
    CU_ASSERT(n9 > 0);
    /* a value that needs larger blocks fails whole on an existing variable */
    char key[32];
    static unsigned char huge[64 << 10];
    key_of(key, sizeof key, 9, 0);
    CU_ASSERT_EQUAL(mmf_set(ns, key, huge, make_value(huge, 9, 0, sizeof huge)), MMF_ENOSPC);
    CU_ASSERT_EQUAL(read_back(ns, 9, 0), 1);
    CU_ASSERT_EQUAL(fill(ns, 0, &n0, max), MMF_ENOSPC);
    CU_ASSERT(n0 > 0);
    mmf_stats st = stats(ns);
    CU_ASSERT(st.grows > 0);
    CU_ASSERT(st.size <= max);
    /* everything written reads back, and the image is whole */
    uint64_t ok = 0;
    for (uint32_t i = 0; i < n9; i++)
        ok += read_back(ns, 9, i) == 1;
    for (uint32_t i = 0; i < n0; i++)
        ok += read_back(ns, 0, i) == 1;
    CU_ASSERT_EQUAL(ok, (uint64_t)n9 + n0);
    CU_ASSERT_EQUAL(st.vars, (uint64_t)n9 + n0);
    CU_ASSERT_EQUAL(check(ns), MMF_OK);
    /* another process meets the same ceiling, and reads everything */
    pid_t pid = fork();
    if (pid == 0) {
        mmf *o = attach(nsname, NULL, false);
        CHILD_REQUIRE(o);
        CHILD_REQUIRE(write_var(o, 9, n9) == MMF_ENOSPC);
        CHILD_REQUIRE(write_var(o, 0, n0) == MMF_ENOSPC);
        for (uint32_t i = 0; i < n9; i++)
            CHILD_REQUIRE(read_back(o, 9, i) == 1);
        for (uint32_t i = 0; i < n0; i++)
            CHILD_REQUIRE(read_back(o, 0, i) == 1);
        mmf_close(o);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    /* deleting makes room again: 4 KiB values where 4 KiB ones were */
    for (uint32_t i = 0; i < 8; i++) {
        key_of(key, sizeof key, 9, i);
        CU_ASSERT_EQUAL(mmf_delete(ns, key), MMF_OK);
    }
    for (uint32_t i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(write_var(ns, 9, n9 + i), MMF_OK);
    /* and small ones where small ones were: their slots and entries */
    uint32_t gone = 0;
    for (uint32_t i = 0; i < n0 && gone < 20; i++)
        if (len_of(0, i) != 4096) {
            key_of(key, sizeof key, 0, i);
            CU_ASSERT_EQUAL(mmf_delete(ns, key), MMF_OK);
            gone++;
        }
    CU_ASSERT(gone > 0);
    for (uint32_t i = 0, made = 0; made < gone; i++)
        if (len_of(2, i) != 4096) {
            CU_ASSERT_EQUAL(write_var(ns, 2, i), MMF_OK);
            CU_ASSERT_EQUAL(read_back(ns, 2, i), 1);
            made++;
        }
    /* filling again ends the same way, within max_size */
    uint32_t n3 = 0;
    CU_ASSERT_EQUAL(fill(ns, 3, &n3, max), MMF_ENOSPC);
    st = stats(ns);
    CU_ASSERT(st.size <= max);
    CU_ASSERT_EQUAL(check(ns), MMF_OK);
    printf("\n  max_size %llu: %u variables of 4 KiB, then %u mostly small ones; %llu bytes "
           "committed, %llu grows",
           (unsigned long long)max, n9, n0, (unsigned long long)st.size,
           (unsigned long long)st.grows);
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

/*
 * max_size is the bytes a namespace may ever commit, its memory on
 * /dev/shm: what the file really holds (st_blocks), whole pages as
 * posix_fallocate allocates them, not only what the regions' counts say
 * (once, the heap arena's partial first and last pages went uncounted: 2 MiB
 * of max_size held 2,101,248 bytes).
 */
static void test_max_size_bounds_the_file(void) {
    const uint64_t max = 2u << 20;
    mmf *ns = create(unique_name(nsname, sizeof nsname, "grow.maxfile"), NULL, 64u << 10, max, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    char shm[256];
    snprintf(shm, sizeof shm, "/dev/shm/%s", nsname);
    uint32_t n9 = 0, n0 = 0; /* mostly small ones first, then 4 KiB ones */
    CU_ASSERT_EQUAL(fill(ns, 0, &n0, max), MMF_ENOSPC);
    CU_ASSERT_EQUAL(fill(ns, 9, &n9, max), MMF_ENOSPC);
    mmf_stats st = stats(ns);
    uint64_t on_disk = file_bytes(shm);
    printf("\n  max_size %llu: %llu bytes committed by the count, %llu on /dev/shm",
           (unsigned long long)max, (unsigned long long)st.size, (unsigned long long)on_disk);
    CU_ASSERT(st.size <= max);
    CU_ASSERT(on_disk <= max);
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

/* ---- 3. a full file system --------------------------------------------- */

/* The filler, in a child: creates the namespace on the small file system
   and writes until MMF_ENOSPC (mixed sizes, one in 64 of 4 KiB; then the
   same again from a new key; then empty values); reports how many of each
   through fd. A SIGBUS would kill it. */
static void filler(const char *path, int fd) {
    alarm(120);
    mmf *ns = create(nsname, path, 64u << 10, 256ull << 20, 0);
    CHILD_REQUIRE(ns);
    uint32_t n[3] = {0, 0, 0};
    int rc;
    while ((rc = write_var(ns, 0, n[0])) == MMF_OK)
        n[0]++;
    if (rc != MMF_ENOSPC) fprintf(stderr, "filler: %s\n", mmf_strerror(rc));
    CHILD_REQUIRE(rc == MMF_ENOSPC);
    CHILD_REQUIRE(read_back(ns, 0, n[0]) == 0);
    while ((rc = write_var(ns, 1, n[1])) == MMF_OK)
        n[1]++;
    CHILD_REQUIRE(rc == MMF_ENOSPC);
    char key[32];
    for (;;) {
        snprintf(key, sizeof key, "e.%u", n[2]);
        if ((rc = mmf_set(ns, key, "", 0)) != MMF_OK) break;
        n[2]++;
    }
    CHILD_REQUIRE(rc == MMF_ENOSPC);
    CHILD_REQUIRE(mmf_exists(ns, key) == 0);
    CHILD_REQUIRE(write(fd, n, sizeof n) == (ssize_t)sizeof n);
    mmf_close(ns);
    _exit(0);
}

static void test_full_file_system(void) {
    char dir[] = "/tmp/mmf-grow-tmpfs.XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0700") != 0) {
        int e = errno;
        rmdir(dir);
        if (e == EPERM) {
            printf("\n  SKIPPED: mounting a 2 MiB tmpfs needs root (mount: %s)", strerror(e));
            CU_PASS("skipped: mount -t tmpfs not permitted");
            return;
        }
        fprintf(stderr, "\n  mount -t tmpfs on %s: %s\n", dir, strerror(e));
        CU_FAIL("mount -t tmpfs failed");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/ns", dir);
    unique_name(nsname, sizeof nsname, "grow.tmpfs");
    int p[2];
    CU_ASSERT_FATAL(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        filler(path, p[1]);
    }
    close(p[1]);
    uint32_t n[3] = {0, 0, 0};
    ssize_t got = read(p[0], n, sizeof n);
    close(p[0]);
    int st = wait_child(pid);
    if (st >= 100) fprintf(stderr, "\n  the filler died of signal %d\n", st - 100);
    CU_ASSERT_EQUAL(st, 0); /* exited by itself: no SIGBUS */
    CU_ASSERT_EQUAL(got, (ssize_t)sizeof n);
    CU_ASSERT(n[0] > 0); /* the rest may find the file system already full */
    if (st == 0) {
        mmf *ns = attach(nsname, path, false);
        CU_ASSERT_PTR_NOT_NULL(ns);
        if (ns) {
            uint64_t ok = 0;
            for (uint32_t i = 0; i < n[0]; i++)
                ok += read_back(ns, 0, i) == 1;
            for (uint32_t i = 0; i < n[1]; i++)
                ok += read_back(ns, 1, i) == 1;
            CU_ASSERT_EQUAL(ok, (uint64_t)n[0] + n[1]);
            char key[32];
            for (uint32_t i = 0; i < n[2]; i++) {
                snprintf(key, sizeof key, "e.%u", i);
                CU_ASSERT_EQUAL(mmf_exists(ns, key), 1);
            }
            mmf_stats s = stats(ns);
            CU_ASSERT_EQUAL(s.vars, (uint64_t)n[0] + n[1] + n[2]);
            CU_ASSERT_EQUAL(check(ns), MMF_OK);
            /* still full, and still whole after the next try */
            CU_ASSERT_EQUAL(write_var(ns, 3, 7), MMF_ENOSPC);
            CU_ASSERT_EQUAL(check(ns), MMF_OK);
            /* deleting makes room inside the namespace */
            for (uint32_t i = 7; i < n[0] && i < 7 + 64 * 4; i += 64) {
                key_of(key, sizeof key, 0, i);
                CU_ASSERT_EQUAL(mmf_delete(ns, key), MMF_OK);
                CU_ASSERT_EQUAL(write_var(ns, 4, i), MMF_OK);
                CU_ASSERT_EQUAL(read_back(ns, 4, i), 1);
            }
            CU_ASSERT_EQUAL(check(ns), MMF_OK);
            printf("\n  2 MiB tmpfs: full after %u variables with 4 KiB ones, %u small, %u empty; "
                   "%llu bytes committed, %llu on the file system",
                   n[0], n[1], n[2], (unsigned long long)s.size,
                   (unsigned long long)file_bytes(path));
            mmf_close(ns);
        }
    }
    mmf_unlink(nsname, path);
    CU_ASSERT_EQUAL(umount(dir), 0);
    rmdir(dir);
}

/* ---- 4. churn near the starting capacity ------------------------------- */

#define CHURN_IDS 8192u
#define CHURN_LIVE 3800u
#define CHURN_SAMPLE 512u

struct probes {
    double mean_present, mean_missing;
    uint64_t max_present, max_missing;
};

/* Probe lengths of CHURN_SAMPLE live keys and as many never written. */
static struct probes sample(mmf *ns, const uint32_t *live, uint32_t nlive, uint64_t *s) {
    struct probes p = {0, 0, 0, 0};
    char key[32];
    for (uint32_t j = 0; j < CHURN_SAMPLE; j++) {
        snprintf(key, sizeof key, "c%u", live[rnd(s) % nlive]);
        uint64_t n = mmf__probes(ns, key);
        p.mean_present += (double)n;
        if (n > p.max_present) p.max_present = n;
        snprintf(key, sizeof key, "m%llu", (unsigned long long)rnd(s));
        n = mmf__probes(ns, key);
        p.mean_missing += (double)n;
        if (n > p.max_missing) p.max_missing = n;
    }
    p.mean_present /= CHURN_SAMPLE;
    p.mean_missing /= CHURN_SAMPLE;
    return p;
}

/* The index capacity, from the dump's "index:" line. */
static uint64_t index_capacity(mmf *ns) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    uint64_t cap = 0;
    if (f && mmf_dump(ns, f) == MMF_OK) {
        fflush(f);
        const char *line = strstr(text, "\nindex: ");
        unsigned long long c;
        if (line && sscanf(line, "\nindex: buffer %*u at offset %*u, %llu entries", &c) == 1)
            cap = c;
    }
    if (f) fclose(f);
    free(text);
    return cap;
}

static int set_churn(mmf *ns, uint32_t id) {
    char key[32];
    unsigned char v[64];
    snprintf(key, sizeof key, "c%u", id);
    return mmf_set(ns, key, v, make_value(v, id, 0, 12 + id % 40));
}

/* What a churn run measured: probes in a fresh namespace with the same
   variables, the worst sample and the mean over the samples taken while
   churning. */
static struct {
    int ran;
    struct probes base, worst, run;
} churned;

static void test_churn_keeps_probes_short(void) {
    uint64_t seed = test_seed(), s = seed;
    printf("\n  seed %llu", (unsigned long long)seed);
    static uint32_t live[CHURN_IDS], pos[CHURN_IDS]; /* live ids; where each is, or ~0 */
    for (uint32_t i = 0; i < CHURN_IDS; i++)
        pos[i] = UINT32_MAX;
    uint32_t nlive = 0;

    /* a fresh namespace with the same number of variables: the yardstick */
    char fresh_name[128];
    mmf *f = create(unique_name(fresh_name, sizeof fresh_name, "grow.fresh"), NULL, 4u << 20,
                    64u << 20, 4096);
    mmf *ns =
        create(unique_name(nsname, sizeof nsname, "grow.churn"), NULL, 4u << 20, 64u << 20, 4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    uint64_t cap = index_capacity(ns);
    CU_ASSERT(cap >= 4096);
    while (nlive < CHURN_LIVE) {
        uint32_t id = (uint32_t)(rnd(&s) % CHURN_IDS);
        if (pos[id] != UINT32_MAX) continue;
        CU_ASSERT_EQUAL_FATAL(set_churn(ns, id), MMF_OK);
        CU_ASSERT_EQUAL_FATAL(set_churn(f, id), MMF_OK);
        pos[id] = nlive;
        live[nlive++] = id;
    }
    uint64_t ps = seed;
    struct probes base = sample(f, live, nlive, &ps);
    mmf_stats st0 = stats(ns);

    const long ops = soak_count("MMF_GROW_CHURN", 300000);
    struct probes worst = {0, 0, 0, 0}, run = {0, 0, 0, 0};
    unsigned samples = 0;
    uint64_t max_tombs = 0;
    double t0 = now_s();
    for (long op = 0; op < ops; op++) {
        /* delete one live variable, insert one that is not */
        uint32_t j = (uint32_t)(rnd(&s) % nlive), gone = live[j];
        char key[32];
        snprintf(key, sizeof key, "c%u", gone);
        CU_ASSERT_EQUAL_FATAL(mmf_delete(ns, key), MMF_OK);
        live[j] = live[--nlive];
        pos[live[j]] = j;
        pos[gone] = UINT32_MAX;
        uint32_t id;
        do
            id = (uint32_t)(rnd(&s) % CHURN_IDS);
        while (pos[id] != UINT32_MAX);
        CU_ASSERT_EQUAL_FATAL(set_churn(ns, id), MMF_OK);
        pos[id] = nlive;
        live[nlive++] = id;
        if (op % 101 == 0) {
            mmf_stats st = stats(ns);
            if (st.tombstones > max_tombs) max_tombs = st.tombstones;
        }
        if (op % 2500 == 2499) {
            struct probes p = sample(ns, live, nlive, &s);
            run.mean_present += p.mean_present;
            run.mean_missing += p.mean_missing;
            samples++;
            if (p.mean_present > worst.mean_present) worst.mean_present = p.mean_present;
            if (p.mean_missing > worst.mean_missing) worst.mean_missing = p.mean_missing;
            if (p.max_present > worst.max_present) worst.max_present = p.max_present;
            if (p.max_missing > worst.max_missing) worst.max_missing = p.max_missing;
        }
    }
    double took = now_s() - t0;
    if (samples) run.mean_present /= samples, run.mean_missing /= samples;
    mmf_stats st = stats(ns);
    printf("\n  %ld deletes + inserts at %u live of %llu entries in %.1f s: %llu index rebuilds, "
           "at most %llu tombstones",
           ops, CHURN_LIVE, (unsigned long long)cap, took,
           (unsigned long long)(st.index_rebuilds - st0.index_rebuilds),
           (unsigned long long)max_tombs);
    printf("\n  probes, fresh: present %.2f (max %llu), missing %.2f (max %llu)", base.mean_present,
           (unsigned long long)base.max_present, base.mean_missing,
           (unsigned long long)base.max_missing);
    printf("\n  probes, mean of %u samples while churning: present %.2f, missing %.2f", samples,
           run.mean_present, run.mean_missing);
    printf("\n  probes, worst sample while churning: present %.2f (max %llu), missing %.2f (max "
           "%llu)",
           worst.mean_present, (unsigned long long)worst.max_present, worst.mean_missing,
           (unsigned long long)worst.max_missing);
    /* the capacity did not change (the live count never asked for more),
       so the bounds below are about tombstones only */
    CU_ASSERT_EQUAL(index_capacity(ns), cap);
    CU_ASSERT(st.index_rebuilds > st0.index_rebuilds); /* compactions ran */
    /* one delete may add a tombstone past the check made before it */
    CU_ASSERT(max_tombs <= cap / 8 + 1);
    CU_ASSERT(st.tombstones <= cap / 8 + 1);
    /* bounded however long it churned (tombstones left to pile up would
       make a missing key's probe walk most of the 8192 entries) */
    CU_ASSERT(worst.max_present <= 128);
    CU_ASSERT(worst.max_missing <= 256);
    /* a present key's lookup costs what it costs in a fresh namespace; a
       missing key's: see the next test */
    CU_ASSERT(run.mean_present <= 1.5 * base.mean_present + 0.5);
    CU_ASSERT(worst.mean_present <= 2 * base.mean_present + 1);
    churned.ran = 1;
    churned.base = base;
    churned.worst = worst;
    churned.run = run;
    /* the slots in use were reused, not added to */
    CU_ASSERT_EQUAL(st.max_vars, st0.max_vars);
    CU_ASSERT_EQUAL(st.vars, CHURN_LIVE);
    uint64_t ok = 0;
    for (uint32_t j = 0; j < nlive; j++) {
        char key[32];
        unsigned char v[64];
        size_t len;
        snprintf(key, sizeof key, "c%u", live[j]);
        ok += mmf_get(ns, key, v, sizeof v, &len) == MMF_OK && len == 12 + live[j] % 40 &&
              value_ok(v, len, live[j]);
    }
    CU_ASSERT_EQUAL(ok, nlive);
    CU_ASSERT_EQUAL(check(ns), MMF_OK);
    mmf_close(ns);
    mmf_close(f);
    mmf_unlink(nsname, NULL);
    mmf_unlink(fresh_name, NULL);
}

/*
 * design.md: "under any mix of inserts and deletes a lookup stays as cheap
 * as in a fresh namespace" - also of a missing key, whose probe walks live
 * entries and tombstones up to an EMPTY one. Compacting only once
 * tombstones passed a quarter of the index let the load reach ~72% with
 * live entries near half: a miss probed ~7 entries on average, ~2.2 in a
 * fresh namespace. Tombstones are now compacted past an eighth.
 */
static void test_churn_missing_keys_as_cheap_as_fresh(void) {
    if (!churned.ran) test_churn_keeps_probes_short();
    CU_ASSERT_FATAL(churned.ran);
    printf("\n  missing keys: %.2f probes on average while churning, %.2f at worst, %.2f fresh",
           churned.run.mean_missing, churned.worst.mean_missing, churned.base.mean_missing);
    CU_ASSERT(churned.run.mean_missing <= 2 * churned.base.mean_missing + 1);
    CU_ASSERT(churned.worst.mean_missing <= 3 * churned.base.mean_missing + 1);
}

/* ---- 5. handles across growth and compaction --------------------------- */

/* Value of "h" for round r, written by the child (by name) or by the
   parent through its handle (the top bit). Sizes alternate inline and
   block, so that writes move the value between blocks too. */
static size_t h_value(unsigned char *v, uint32_t r) {
    return make_value(v, 0x4848u, r, r % 2 ? 40 : 700 + r % 300);
}

static int h_ok(const unsigned char *v, size_t len, uint32_t r) {
    uint32_t seq;
    memcpy(&seq, v + 4, 4);
    return len >= 12 && value_ok(v, len, 0x4848u) && seq == r &&
           len == (r % 2 ? 40 : 700 + r % 300);
}

#define H_ROUNDS 24u

/* The child: every round inserts 3000 variables (the namespace and its
   index grow), deletes most of them (tombstones pile up until a
   compaction), writes "h" by name, every third round deletes "h" and
   creates it again, creates "late" at round 5; then tells the parent the
   round and waits for its write through the handle. */
static void handle_mover(int to_parent, int from_parent) {
    alarm(120);
    mmf *ns = attach(nsname, NULL, false);
    CHILD_REQUIRE(ns);
    unsigned char v[1024];
    size_t len;
    for (uint32_t r = 1; r <= H_ROUNDS; r++) {
        for (uint32_t i = 0; i < 3000; i++)
            CHILD_REQUIRE(write_var(ns, 5 + r, i) == MMF_OK);
        char key[32];
        for (uint32_t i = 0; i < 3000; i++)
            if (i % 8) {
                key_of(key, sizeof key, 5 + r, i);
                CHILD_REQUIRE(mmf_delete(ns, key) == MMF_OK);
            }
        if (r % 3 == 0) CHILD_REQUIRE(mmf_delete(ns, "h") == MMF_OK);
        CHILD_REQUIRE(mmf_set(ns, "h", v, h_value(v, r)) == MMF_OK);
        if (r == 5) CHILD_REQUIRE(mmf_set(ns, "late", "born", 4) == MMF_OK);
        CHILD_REQUIRE(write(to_parent, &r, sizeof r) == (ssize_t)sizeof r);
        uint32_t ack;
        CHILD_REQUIRE(read(from_parent, &ack, sizeof ack) == (ssize_t)sizeof ack && ack == r);
        /* the parent's write through its handle, seen by name */
        CHILD_REQUIRE(mmf_get(ns, "h", v, sizeof v, &len) == MMF_OK);
        CHILD_REQUIRE(h_ok(v, len, r | 0x80000000u));
    }
    mmf_close(ns);
    _exit(0);
}

static void test_handles_survive_growth(void) {
    mmf *ns =
        create(unique_name(nsname, sizeof nsname, "grow.var"), NULL, 64u << 10, 256u << 20, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    unsigned char v[1024];
    size_t len;
    CU_ASSERT_EQUAL(mmf_set(ns, "h", v, h_value(v, 0)), MMF_OK);
    mmf_var *h, *late;
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "h", &h), MMF_OK);
    CU_ASSERT_EQUAL_FATAL(mmf_var_open(ns, "late", &late), MMF_OK);
    CU_ASSERT_EQUAL(mmf_var_get(h, v, sizeof v, &len, NULL), MMF_OK);
    CU_ASSERT(h_ok(v, len, 0));
    mmf_stats st0 = stats(ns);

    int up[2], down[2];
    CU_ASSERT_FATAL(pipe(up) == 0 && pipe(down) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(up[0]);
        close(down[1]);
        handle_mover(up[1], down[0]);
    }
    close(up[1]);
    close(down[0]);
    uint32_t prev = 0;
    uint64_t reads = 0, torn = 0, other = 0;
    for (uint32_t r = 1; r <= H_ROUNDS; r++) {
        /* while the child grows and compacts: every read through the
           handle is "h" whole, at the round before or this one (or
           missing, while "h" is deleted and created again) */
        struct pollfd pf = {up[0], POLLIN, 0};
        while (poll(&pf, 1, 0) == 0) {
            int rc = mmf_var_get(h, v, sizeof v, &len, NULL);
            reads++;
            if (rc == MMF_ENOTFOUND && r % 3 == 0) continue;
            if (rc != MMF_OK || len < 12 || !value_ok(v, len, 0x4848u)) {
                torn++;
                continue;
            }
            uint32_t seq;
            memcpy(&seq, v + 4, 4);
            if (!h_ok(v, len, seq) || (seq != r && seq != prev)) other++;
        }
        uint32_t got;
        CU_ASSERT_EQUAL_FATAL(read(up[0], &got, sizeof got), (ssize_t)sizeof got);
        CU_ASSERT_EQUAL(got, r);
        CU_ASSERT_EQUAL(mmf_var_get(h, v, sizeof v, &len, NULL), MMF_OK);
        CU_ASSERT(h_ok(v, len, r));
        int rc = mmf_var_get(late, v, sizeof v, &len, NULL);
        if (r < 5) {
            CU_ASSERT_EQUAL(rc, MMF_ENOTFOUND);
        } else {
            CU_ASSERT(rc == MMF_OK && len == 4 && memcmp(v, "born", 4) == 0);
        }
        CU_ASSERT_EQUAL(mmf_var_set(h, v, h_value(v, r | 0x80000000u)), MMF_OK);
        prev = r | 0x80000000u;
        CU_ASSERT_EQUAL_FATAL(write(down[1], &r, sizeof r), (ssize_t)sizeof r);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    CU_ASSERT_EQUAL(torn, 0);
    CU_ASSERT_EQUAL(other, 0);
    mmf_stats st = stats(ns);
    CU_ASSERT(st.grows > st0.grows);
    CU_ASSERT(st.index_rebuilds - st0.index_rebuilds >= 4);
    /* the handle and the by-name call agree */
    unsigned char w[1024];
    size_t wlen;
    CU_ASSERT_EQUAL(mmf_var_get(h, v, sizeof v, &len, NULL), MMF_OK);
    CU_ASSERT_EQUAL(mmf_get(ns, "h", w, sizeof w, &wlen), MMF_OK);
    CU_ASSERT(len == wlen && memcmp(v, w, len) == 0);
    CU_ASSERT_EQUAL(check(ns), MMF_OK);
    printf("\n  %u rounds: %llu reads through the handle meanwhile; %llu grows, %llu index "
           "rebuilds",
           H_ROUNDS, (unsigned long long)reads, (unsigned long long)(st.grows - st0.grows),
           (unsigned long long)(st.index_rebuilds - st0.index_rebuilds));
    mmf_var_close(h);
    mmf_var_close(late);
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

/* ---- 6. a reader stopped during growth --------------------------------- */

/* The reader: read-only, attached while the namespace was 64 KiB. It reads
   w0.0 .. w0.<count - 1> over and over (count: a variable the parent
   raises), checking each, until "done"; then everything once more. */
static void stopped_reader(int ready_fd) {
    alarm(120);
    mmf *ns = attach(nsname, NULL, true);
    CHILD_REQUIRE(ns);
    CHILD_REQUIRE(write(ready_fd, "r", 1) == 1);
    uint64_t passes = 0;
    while (!mmf_exists(ns, "done")) {
        int64_t n = get_i64(ns, "count");
        for (uint32_t i = 0; i < (uint32_t)n; i++)
            CHILD_REQUIRE(read_back(ns, 0, i) == 1);
        passes++;
    }
    int64_t n = get_i64(ns, "count");
    CHILD_REQUIRE(n > 0);
    for (uint32_t i = 0; i < (uint32_t)n; i++)
        CHILD_REQUIRE(read_back(ns, 0, i) == 1);
    for (uint32_t i = 0; i < 20000; i++)
        CHILD_REQUIRE(read_back(ns, 1, i) == 0); /* deleted */
    mmf_close(ns);
    _exit(passes > 0 ? 0 : 4);
}

/* Waits up to secs for a child; its status as wait_child, or -2 if it did
   not end in time (then stray is killed: the process that hangs). */
static int wait_bounded(pid_t pid, double secs, pid_t stray) {
    double until = now_s() + secs;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
        if (r < 0) return -1;
        if (now_s() > until) {
            kill(stray, SIGKILL);
            waitpid(pid, &st, 0);
            return -2;
        }
        usleep(2000);
    }
}

/* The reader in a PID namespace of its own (its pid 1 there): started from
   a child that unshares, which reports the reader's pid as this process
   sees it (0 if it may not unshare) and ends with the reader's status. */
static pid_t reader_in_pidns(int ready_fd, int pid_fd) {
    pid_t mid = fork();
    if (mid != 0) return mid;
    pid_t none = 0;
    if (unshare(CLONE_NEWPID) != 0) {
        CHILD_REQUIRE(write(pid_fd, &none, sizeof none) == (ssize_t)sizeof none);
        _exit(0);
    }
    pid_t r = fork();
    if (r == 0) {
        CHILD_REQUIRE(getpid() == 1);
        stopped_reader(ready_fd);
    }
    CHILD_REQUIRE(r > 0 && write(pid_fd, &r, sizeof r) == (ssize_t)sizeof r);
    int st = wait_child(r);
    _exit(st < 0 ? 99 : st);
}

static void stopped_reader_test(bool pidns) {
    mmf *ns =
        create(unique_name(nsname, sizeof nsname, "grow.stop"), NULL, 64u << 10, 256u << 20, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    uint32_t n = 0;
    for (; n < 20; n++)
        CU_ASSERT_EQUAL_FATAL(write_var(ns, 0, n), MMF_OK);
    int64_t count = n;
    CU_ASSERT_EQUAL(mmf_set(ns, "count", &count, sizeof count), MMF_OK);
    int ready[2], pids[2];
    CU_ASSERT_FATAL(pipe(ready) == 0 && pipe(pids) == 0);
    pid_t waited, pid; /* the child to wait for, and the reader to stop */
    if (!pidns) {
        waited = pid = fork();
        if (pid == 0) {
            close(ready[0]);
            stopped_reader(ready[1]);
        }
    } else {
        waited = reader_in_pidns(ready[1], pids[1]);
        CU_ASSERT_EQUAL_FATAL(read(pids[0], &pid, sizeof pid), (ssize_t)sizeof pid);
        if (pid == 0) {
            wait_child(waited);
            printf("\n  SKIPPED: no new PID namespace here (unshare(CLONE_NEWPID) refused)");
            CU_PASS("skipped: unshare(CLONE_NEWPID) refused");
            close(ready[0]), close(ready[1]), close(pids[0]), close(pids[1]);
            mmf_close(ns);
            mmf_unlink(nsname, NULL);
            return;
        }
    }
    close(ready[1]);
    close(pids[0]);
    close(pids[1]);
    char c;
    CU_ASSERT_EQUAL_FATAL(read(ready[0], &c, 1), 1);
    close(ready[0]);
    mmf_stats st0 = stats(ns);
    uint64_t seed = test_seed(), s = seed;
    uint32_t dead = 0; /* w1.*: inserted and deleted again, for tombstones */
    int stopped_ok = 1;
    for (int round = 0; round < 30; round++) {
        usleep((useconds_t)(rnd(&s) % 3000)); /* somewhere in its reads */
        kill(pid, SIGSTOP);
        stopped_ok &= await_state(pid, 'T');
        /* while it is stopped, the index is rebuilt several times (a probe
           it was in may be in a buffer cleared and refilled since), slots
           and heap grow */
        uint32_t more = round == 10 ? 20000 : 500 + (uint32_t)(rnd(&s) % 1500);
        for (uint32_t i = 0; i < more; i++, n++)
            CU_ASSERT_EQUAL_FATAL(write_var(ns, 0, n), MMF_OK);
        for (uint32_t i = 0; i < 300 && dead < 20000; i++, dead++) {
            char key[32];
            CU_ASSERT_EQUAL_FATAL(write_var(ns, 1, dead), MMF_OK);
            key_of(key, sizeof key, 1, dead);
            CU_ASSERT_EQUAL_FATAL(mmf_delete(ns, key), MMF_OK);
        }
        count = n;
        CU_ASSERT_EQUAL(mmf_set(ns, "count", &count, sizeof count), MMF_OK);
        kill(pid, SIGCONT);
    }
    CU_ASSERT(stopped_ok);
    CU_ASSERT_EQUAL(mmf_set(ns, "done", "", 0), MMF_OK);
    int rc = wait_bounded(waited, 120, pid);
    if (rc)
        fprintf(stderr, "\n  the stopped reader ended with %d (seed %llu)\n", rc,
                (unsigned long long)seed);
    CU_ASSERT_EQUAL(rc, 0);
    mmf_stats st = stats(ns);
    CU_ASSERT(st.grows > st0.grows);
    CU_ASSERT(st.index_rebuilds - st0.index_rebuilds >= 4);
    CU_ASSERT_EQUAL(check(ns), MMF_OK);
    printf("\n  %sstopped 30 times; %u variables, %llu grows, %llu index rebuilds meanwhile",
           pidns ? "in a PID namespace of its own: " : "", n,
           (unsigned long long)(st.grows - st0.grows),
           (unsigned long long)(st.index_rebuilds - st0.index_rebuilds));
    mmf_close(ns);
    mmf_unlink(nsname, NULL);
}

static void test_stopped_reader(void) {
    stopped_reader_test(false);
}

static void test_stopped_reader_in_pidns(void) {
    stopped_reader_test(true);
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--reader") == 0)
        return reader_main(argv[2], (uint32_t)atol(argv[3]), atoi(argv[4]));
    self_exe = "/proc/self/exe";
    static const test_case tests[] = {
        {"two writers insert 300,000 variables from 256 KiB, a reader attached at the start",
         test_two_writers_one_reader},
        {"growth stops at max_size with MMF_ENOSPC; deleting makes room",
         test_max_size_stops_growth},
        {"the file holds no more than max_size", test_max_size_bounds_the_file},
        {"a full file system: MMF_ENOSPC, never SIGBUS", test_full_file_system},
        {"delete + insert churn near capacity keeps probes short", test_churn_keeps_probes_short},
        {"after churn a missing key costs what it costs in a fresh namespace",
         test_churn_missing_keys_as_cheap_as_fresh},
        {"variable handles survive growth and compaction", test_handles_survive_growth},
        {"a reader stopped during growth reads every variable after", test_stopped_reader},
        {"the same with the reader in another PID namespace", test_stopped_reader_in_pidns},
        {NULL, NULL}};
    return run_suite("growth", tests);
}
