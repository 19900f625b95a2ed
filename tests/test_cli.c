/* The mmf tool, run as a user would: separate processes, real namespaces. */
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"

#ifndef MMF_TOOL
#error "MMF_TOOL: path of the mmf tool"
#endif

#define NOBODY 65534

static char ns[128];

struct result {
    int status;
    char *out, *err;
    size_t out_len;
};

static char *slurp(int fd, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while ((got = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)got;
        if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

/* Runs argv (argv[0] = program) with input on stdin, as user uid (< 0: as
   this process's user); collects its output. */
static struct result run_prog_as(int uid, char *const argv[], const void *input, size_t input_len) {
    int in[2], out[2], err[2];
    CU_ASSERT_FATAL(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(in[1]), close(out[0]), close(err[0]);
        if (uid >= 0 && (setgroups(0, NULL) || setgid((gid_t)uid) || setuid((uid_t)uid)))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]), close(out[1]), close(err[1]);
    if (input_len) CU_ASSERT_EQUAL(write(in[1], input, input_len), (ssize_t)input_len);
    close(in[1]);
    struct result r;
    r.out = slurp(out[0], &r.out_len);
    r.err = slurp(err[0], NULL);
    close(out[0]), close(err[0]);
    r.status = wait_child(pid);
    return r;
}

static struct result run_prog(char *const argv[], const void *input, size_t input_len) {
    return run_prog_as(-1, argv, input, input_len);
}

#define MMF(...) run_prog((char *const[]){MMF_TOOL, __VA_ARGS__, NULL}, NULL, 0)
#define MMF_IN(in, n, ...) run_prog((char *const[]){MMF_TOOL, __VA_ARGS__, NULL}, in, n)

static void done(struct result r) {
    free(r.out);
    free(r.err);
}

/* Runs jq FILTER over json; returns its output (caller frees). */
static char *jq(const char *json, const char *filter) {
    struct result r =
        run_prog((char *const[]){"/usr/bin/jq", "-r", (char *)filter, NULL}, json, strlen(json));
    CU_ASSERT_EQUAL(r.status, 0);
    free(r.err);
    char *nl = strchr(r.out, '\n');
    if (nl) *nl = '\0';
    return r.out;
}

/* Checks that jq FILTER over json prints want (its first line). */
#define EXPECT_JQ(json, filter, want)                                                              \
    do {                                                                                           \
        char *jq_out = jq(json, filter);                                                           \
        CU_ASSERT_STRING_EQUAL(jq_out, want);                                                      \
        free(jq_out);                                                                              \
    } while (0)

static void fresh_ns(void) {
    unique_name(ns, sizeof ns, "cli");
    mmf_unlink(ns, NULL);
    struct result r = MMF("create", ns, "--size", "2M", "--max-vars", "100");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "created"));
    done(r);
}

static void test_binary_round_trip(void) {
    fresh_ns();
    unsigned char bytes[1000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 7 + i / 256);
    struct result r = MMF_IN(bytes, sizeof bytes, "set", ns, "blob");
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("get", ns, "blob");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_EQUAL(r.out_len, sizeof bytes);
    CU_ASSERT(r.out_len == sizeof bytes && memcmp(r.out, bytes, sizeof bytes) == 0);
    done(r);
    r = MMF_IN("", 0, "set", ns, "empty"); /* empty stdin: an empty value */
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("get", ns, "empty");
    CU_ASSERT(r.status == 0 && r.out_len == 0);
    done(r);
    r = MMF("set", ns, "text", "hi there");
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("get", ns, "text", "--hex");
    CU_ASSERT_STRING_EQUAL(r.out, "6869207468657265\n");
    done(r);
    r = MMF("set", ns, "--", "-dash", "--looks-like-an-option");
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("get", ns, "--", "-dash");
    CU_ASSERT_STRING_EQUAL(r.out, "--looks-like-an-option");
    done(r);
    mmf_unlink(ns, NULL);
}

static void test_json_output_parses(void) {
    fresh_ns();
    done(MMF("set", ns, "alpha", "a \"quoted\"\tvalue"));
    done(MMF("add", ns, "counter", "41"));
    struct result r = MMF("add", ns, "counter", "1");
    CU_ASSERT_STRING_EQUAL(r.out, "42\n");
    done(r);
    r = MMF("ls", ns, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    EXPECT_JQ(r.out, "length", "2");
    EXPECT_JQ(r.out, ".[0].key + \" \" + (.[0].length|tostring) + \" \" + .[0].preview",
              "alpha 16 a \"quoted\"\tvalue");
    EXPECT_JQ(r.out, ".[1].key", "counter");
    done(r);
    r = MMF("stat", ns, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    /* room for the 100 asked (slots come 16 at a time), not 2M's default 1024 */
    EXPECT_JQ(r.out,
              "[.vars, (.max_vars >= 100 and .max_vars < 116), .size, .tombstones] | "
              "map(tostring) | join(\" \")",
              "2 true 2097152 0");
    char *max_vars = jq(r.out, ".max_vars");
    max_vars[strcspn(max_vars, "\n")] = '\0';
    EXPECT_JQ(r.out, ".heap_used + .heap_free == .heap_size and .lock_recoveries == 0", "true");
    done(r);
    r = MMF("get", ns, "alpha", "--json");
    char *v = jq(r.out, ".value + \"|\" + (.version|tostring)");
    CU_ASSERT(v[0] == 'a' && strstr(v, "|") != NULL);
    free(v);
    done(r);
    r = MMF("stat", ns); /* the text form reads well: aligned labels */
    char line[64];
    snprintf(line, sizeof line, "variables      2 of %s", max_vars);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, line));
    free(max_vars);
    done(r);
    mmf_unlink(ns, NULL);
}

static void test_versions_and_cas(void) {
    fresh_ns();
    done(MMF("set", ns, "k", "one"));
    struct result r = MMF("get", ns, "k", "--version");
    char version[32];
    snprintf(version, sizeof version, "%s", r.out);
    version[strcspn(version, "\n")] = '\0';
    done(r);
    r = MMF("set", ns, "k", "two", "--if-version", "999999");
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "version did not match"));
    done(r);
    r = MMF("set", ns, "k", "two", "--if-version", version);
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("get", ns, "k");
    CU_ASSERT_STRING_EQUAL(r.out, "two");
    done(r);
    r = MMF("del", ns, "k");
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("del", ns, "k");
    CU_ASSERT_EQUAL(r.status, 1);
    done(r);
    mmf_unlink(ns, NULL);
}

static void test_watch_is_woken_by_another_process(void) {
    fresh_ns();
    done(MMF("set", ns, "quote", "1.0"));
    int out[2];
    CU_ASSERT_FATAL(pipe(out) == 0);
    pid_t watcher = fork();
    if (watcher == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(MMF_TOOL, MMF_TOOL, "watch", ns, "quote", "other", "--count", "2", "--timeout", "20",
              (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    usleep(300000); /* let it fall asleep */
    done(MMF("set", ns, "quote", "1.5"));
    usleep(100000);
    done(MMF("set", ns, "other", "created"));
    char *text = slurp(out[0], NULL);
    close(out[0]);
    CU_ASSERT_EQUAL(wait_child(watcher), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "quote\t"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\t1.5\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "other\t"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\tcreated\n"));
    free(text);
    struct result r = MMF("watch", ns, "quote", "--count", "1", "--timeout", "0.3");
    CU_ASSERT_EQUAL(r.status, 1); /* nothing changed */
    done(r);
    mmf_unlink(ns, NULL);
}

static void test_check_dump_rm(void) {
    fresh_ns();
    done(MMF("set", ns, "k", "v"));
    struct result r = MMF("check", ns);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "ok: 1 variables"));
    done(r);
    r = MMF("dump", ns);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "free lists:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"v\""));
    done(r);
    r = MMF("rm", ns);
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    r = MMF("get", ns, "k");
    CU_ASSERT_EQUAL(r.status, 3);
    char expect[128];
    snprintf(expect, sizeof expect, "mmf: get: %s\n", mmf_strerror(MMF_ENOENT));
    CU_ASSERT_STRING_EQUAL(r.err, expect);
    done(r);
    r = MMF("rm", ns);
    CU_ASSERT_EQUAL(r.status, 3);
    done(r);
}

static void test_file_backed_spec(void) {
    char spec[256], path[128];
    snprintf(path, sizeof path, "/tmp/mmf-cli-%d.swp", (int)getpid());
    unlink(path);
    snprintf(spec, sizeof spec, "name=CliFile path=%s size=256K", path);
    struct result r = MMF("create", spec);
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    done(MMF("set", spec, "k", "in a file"));
    r = MMF("get", spec, "k");
    CU_ASSERT_STRING_EQUAL(r.out, "in a file");
    done(r);
    r = MMF("create", spec);
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "already exists"));
    done(r);
    r = MMF("rm", spec);
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    CU_ASSERT_EQUAL(access(path, F_OK), -1);
}

static void test_usage_errors(void) {
    fresh_ns();
    struct {
        char *const *argv;
        int status;
    } cases[] = {
        {(char *const[]){MMF_TOOL, NULL}, 2},
        {(char *const[]){MMF_TOOL, "frobnicate", NULL}, 2},
        {(char *const[]){MMF_TOOL, "get", ns, NULL}, 2},
        {(char *const[]){MMF_TOOL, "get", ns, "k", "extra", NULL}, 2},
        {(char *const[]){MMF_TOOL, "get", ns, "k", "--bogus", NULL}, 2},
        {(char *const[]){MMF_TOOL, "get", ns, "k", "--hex", "--json", NULL}, 2},
        {(char *const[]){MMF_TOOL, "set", ns, "k", "v", "--if-version", NULL}, 2},
        {(char *const[]){MMF_TOOL, "set", ns, "k", "v", "--if-version", "x", NULL}, 2},
        {(char *const[]){MMF_TOOL, "add", ns, "k", "12abc", NULL}, 2},
        {(char *const[]){MMF_TOOL, "watch", ns, "k", "--count", "0", NULL}, 2},
        {(char *const[]){MMF_TOOL, "create", "x", "--size", "lots", NULL}, 2},
        {(char *const[]){MMF_TOOL, "create", "x", "--mode", "999", NULL}, 2},
        {(char *const[]){MMF_TOOL, "get", ns, "missing", NULL}, 1},
        {(char *const[]){MMF_TOOL, "get", "bad/name", "k", NULL}, 3},
        {(char *const[]){MMF_TOOL, "get", "name=x bogus=1", "k", NULL}, 3},
        {(char *const[]){MMF_TOOL, "--help", NULL}, 0},
        {(char *const[]){MMF_TOOL, "--version", NULL}, 0},
        {(char *const[]){MMF_TOOL, "watch", "--help", NULL}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct result r = run_prog(cases[i].argv, NULL, 0);
        if (r.status != cases[i].status)
            fprintf(stderr, "case %zu: status %d, stderr %s\n", i, r.status, r.err);
        CU_ASSERT_EQUAL(r.status, cases[i].status);
        if (r.status != 0) { /* one line on stderr saying why */
            CU_ASSERT(strncmp(r.err, "mmf: ", 5) == 0);
            CU_ASSERT_PTR_NOT_NULL(strchr(r.err, '\n'));
            CU_ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1);
        } else {
            CU_ASSERT(strlen(r.out) > 0);
        }
        done(r);
    }
    mmf_unlink(ns, NULL);
}

/* The bytes of the namespace's file (malloc'd), to tell whether anything wrote. */
static char *image(size_t *len) {
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/%s", ns);
    int fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    char *bytes = slurp(fd, len);
    close(fd);
    return bytes;
}

static void test_read_commands_write_nothing(void) {
    fresh_ns();
    done(MMF("set", ns, "k", "value"));
    done(MMF("add", ns, "n", "7"));
    size_t len, len2;
    char *before = image(&len);
    const char *reads[][4] = {{"get", ns, "k", NULL},   {"get", ns, "k", "--json"},
                              {"ls", ns, NULL, NULL},   {"ls", ns, "--json", NULL},
                              {"stat", ns, NULL, NULL}, {"stat", ns, "--json", NULL},
                              {"dump", ns, NULL, NULL}};
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        char *argv[] = {MMF_TOOL,
                        (char *)reads[i][0],
                        (char *)reads[i][1],
                        (char *)reads[i][2],
                        (char *)reads[i][3],
                        NULL};
        struct result r = run_prog(argv, NULL, 0);
        CU_ASSERT_EQUAL(r.status, 0);
        done(r);
    }
    struct result r = MMF("watch", ns, "k", "--count", "1", "--timeout", "0.2");
    CU_ASSERT_EQUAL(r.status, 1); /* it attached, nothing changed */
    done(r);
    char *after = image(&len2);
    CU_ASSERT(len == len2 && memcmp(before, after, len) == 0); /* not one byte written */
    free(after);
    done(MMF("set", ns, "k", "other")); /* and the comparison does see a write */
    after = image(&len2);
    CU_ASSERT(len == len2 && memcmp(before, after, len) != 0);
    free(after);
    free(before);
    mmf_unlink(ns, NULL);
}

/* A copy of the tool that user nobody can run wherever the build tree is,
   in dir (which the caller removes with forget_copy). */
static bool copy_tool(char *dir, size_t n, char *tool, size_t tn) {
    snprintf(dir, n, "/tmp/mmf-cli-XXXXXX");
    if (!mkdtemp(dir) || chmod(dir, 0755)) return false;
    snprintf(tool, tn, "%s/mmf", dir);
    int from = open(MMF_TOOL, O_RDONLY), to = open(tool, O_WRONLY | O_CREAT | O_EXCL, 0755);
    size_t len = 0;
    char *bytes = from >= 0 ? slurp(from, &len) : NULL;
    bool ok = bytes && to >= 0 && write(to, bytes, len) == (ssize_t)len;
    free(bytes);
    if (from >= 0) close(from);
    if (to >= 0) close(to);
    return ok && chmod(tool, 0755) == 0;
}

static void forget_copy(const char *dir, const char *tool) {
    unlink(tool);
    rmdir(dir);
}

#define AS_NOBODY(...) run_prog_as(NOBODY, (char *const[]){tool, __VA_ARGS__, NULL}, NULL, 0)

static void test_another_user_reads_but_cannot_write(void) {
    if (geteuid() != 0) {
        /* a developer's run without root says so; CI, which runs as root,
           must never pass this test without running it */
        printf("\n  not run: switching to another user needs root");
        if (getenv("CI")) CU_FAIL("CI must run this test as root");
        return;
    }
    unique_name(ns, sizeof ns, "cli");
    mmf_unlink(ns, NULL);
    struct result r = MMF("create", ns, "--size", "256K", "--mode", "0644");
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    done(MMF("set", ns, "k", "readable"));
    char dir[64], tool[96];
    CU_ASSERT_FATAL(copy_tool(dir, sizeof dir, tool, sizeof tool));
    r = AS_NOBODY("get", ns, "k");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, "readable");
    done(r);
    r = AS_NOBODY("ls", ns);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "readable"));
    done(r);
    r = AS_NOBODY("stat", ns, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    EXPECT_JQ(r.out, ".vars", "1");
    done(r);
    r = AS_NOBODY("dump", ns);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"readable\""));
    done(r);
    r = AS_NOBODY("watch", ns, "k", "--count", "1", "--timeout", "0.2");
    CU_ASSERT_EQUAL(r.status, 1); /* attached, and nothing changed */
    done(r);
    const char *writes[][4] = {{"set", ns, "k", "mine"},
                               {"add", ns, "n", "1"},
                               {"del", ns, "k", NULL},
                               {"check", ns, NULL, NULL}};
    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
        r = run_prog_as(NOBODY,
                        (char *const[]){tool, (char *)writes[i][0], (char *)writes[i][1],
                                        (char *)writes[i][2], (char *)writes[i][3], NULL},
                        NULL, 0);
        CU_ASSERT_EQUAL(r.status, 3);
        char expect[256];
        snprintf(expect, sizeof expect, "mmf: %s: permission denied: this user may not open %s",
                 writes[i][0], ns);
        CU_ASSERT(strncmp(r.err, expect, strlen(expect)) == 0);
        CU_ASSERT(strchr(r.err, '\n') == r.err + strlen(r.err) - 1); /* one line */
        done(r);
    }
    r = MMF("get", ns, "k");
    CU_ASSERT_STRING_EQUAL(r.out, "readable");
    done(r);
    forget_copy(dir, tool);
    mmf_unlink(ns, NULL);
}

/* A child that opens the namespace read-write (creating it transient when
   asked) and keeps it until *release is closed; it then leaves without
   closing it, as a process that dies would. */
static pid_t hold_open(bool transient, int *release) {
    int ready[2], go[2];
    CU_ASSERT_FATAL(pipe2(ready, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(ready[0]), close(go[1]);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = ns;
        o.transient = transient;
        o.reuse = !transient;
        mmf *h = NULL;
        CHILD_REQUIRE(mmf_open(&o, &h) == MMF_OK);
        CHILD_REQUIRE(mmf_set(h, "held", "yes", 3) == MMF_OK);
        CHILD_REQUIRE(write(ready[1], "r", 1) == 1);
        char c;
        while (read(go[0], &c, 1) > 0) {
        }
        _exit(0);
    }
    close(ready[1]), close(go[0]);
    char c;
    CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
    close(ready[0]);
    *release = go[1];
    return pid;
}

static void test_stat_lists_attached_processes(void) {
    fresh_ns();
    int release;
    pid_t holder = hold_open(false, &release);
    struct result r = MMF("stat", ns, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    char filter[160];
    snprintf(filter, sizeof filter,
             ".attached >= 1 and .attached == (.attached_pids | length) and "
             "(.attached_pids | index(%d) != null)",
             (int)holder);
    EXPECT_JQ(r.out, filter, "true");
    EXPECT_JQ(r.out, "[.claim_takeovers, .grows, .index_rebuilds] | map(tostring) | join(\" \")",
              "0 0 0");
    done(r);
    r = MMF("stat", ns);
    char line[96];
    snprintf(line, sizeof line, "attached       1 process read-write (pid %d)\n", (int)holder);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, line));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "writers        0 claim takeovers"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "growth         0 grows, 0 index rebuilds\n"));
    done(r);
    close(release);
    CU_ASSERT_EQUAL(wait_child(holder), 0);
    r = MMF("stat", ns, "--json"); /* read-only: the tool itself does not count */
    EXPECT_JQ(r.out, "(.attached | tostring) + \" \" + (.attached_pids | length | tostring)",
              "0 0");
    done(r);
    mmf_unlink(ns, NULL);
}

static void test_create_transient(void) {
    unique_name(ns, sizeof ns, "cli");
    mmf_unlink(ns, NULL);
    char spec[200], expect[128];
    snprintf(expect, sizeof expect, "mmf: ls: %s\n", mmf_strerror(MMF_ENOENT));
    snprintf(spec, sizeof spec, "name=%s transient=1", ns);
    for (int form = 0; form < 2; form++) { /* the flag, then the spec key */
        struct result r = form ? MMF("create", spec) : MMF("create", ns, "--transient");
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "created transient"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "again: no other process had it open"));
        done(r);
        r = MMF("ls", ns); /* gone when mmf create returned, as its help says */
        CU_ASSERT_EQUAL(r.status, 3);
        CU_ASSERT_STRING_EQUAL(r.err, expect);
        done(r);
        r = MMF("get", ns, "k");
        CU_ASSERT_EQUAL(r.status, 3);
        done(r);
    }
    /* held by a program, it is there for the read commands and lasts */
    int release;
    pid_t holder = hold_open(true, &release);
    struct result r = MMF("get", ns, "held");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, "yes");
    done(r);
    r = MMF("create", ns, "--transient");
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "already exists"));
    done(r);
    r = MMF("ls", ns);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "held"));
    done(r);
    close(release);
    CU_ASSERT_EQUAL(wait_child(holder), 0); /* it left without closing */
    /* with nobody attached it counts as absent */
    r = MMF("ls", ns);
    CU_ASSERT_EQUAL(r.status, 3);
    CU_ASSERT_STRING_EQUAL(r.err, expect);
    done(r);
    r = MMF("create", ns, "--transient"); /* the stale one is no obstacle */
    CU_ASSERT_EQUAL(r.status, 0);
    done(r);
    mmf_unlink(ns, NULL);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    static const test_case tests[] = {
        {"binary values round-trip through stdin and stdout", test_binary_round_trip},
        {"ls and stat JSON parse", test_json_output_parses},
        {"versions and --if-version", test_versions_and_cas},
        {"watch is woken by another process", test_watch_is_woken_by_another_process},
        {"check, dump, rm", test_check_dump_rm},
        {"a file-backed namespace by spec", test_file_backed_spec},
        {"usage errors and exit statuses", test_usage_errors},
        {"read commands write nothing to the namespace", test_read_commands_write_nothing},
        {"another user reads with the read commands but cannot write",
         test_another_user_reads_but_cannot_write},
        {"stat shows the processes attached and their pids", test_stat_lists_attached_processes},
        {"create --transient, and a transient namespace a program holds", test_create_transient},
        {NULL, NULL}};
    return run_suite("cli", tests);
}
