/*
 * Another user cannot read or change a namespace created with the default
 * mode 0600; a world-writable object planted by another user is refused; no
 * name reaches outside /dev/shm. The other user is a forked child that drops
 * to nobody (65534), so the first two need root, as CI runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>

#include "testutil.h"

#define NOBODY 65534

static char name[128];

static void become_nobody(void) {
    CHILD_REQUIRE(setgroups(0, NULL) == 0);
    CHILD_REQUIRE(setgid(NOBODY) == 0);
    CHILD_REQUIRE(setuid(NOBODY) == 0);
}

static int need_root(void) {
    if (geteuid() == 0) return 1;
    /* a developer's run without root says so; CI, which runs as root, must
       never pass this test without running it */
    printf("\n  not run: switching to another user needs root");
    if (getenv("CI")) CU_FAIL("CI must run this test as root");
    return 0;
}

static void test_other_user_is_refused(void) {
    if (!need_root()) return;
    mmf *ns = fresh(unique_name(name, sizeof name, "sec"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    CU_ASSERT_EQUAL(mmf_set(ns, "secret", "s3cr3t", 6), MMF_OK);
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    pid_t pid = fork();
    if (pid == 0) {
        become_nobody();
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.reuse = true;
        mmf *other;
        CHILD_REQUIRE(mmf_open(&o, &other) == MMF_EPERM);
        o.reuse = false; /* nor by "creating" it anew */
        CHILD_REQUIRE(mmf_open(&o, &other) == MMF_EPERM);
        CHILD_REQUIRE(open(path, O_RDONLY) == -1 && errno == EACCES); /* not even read */
        CHILD_REQUIRE(mmf_unlink(name, NULL) == MMF_EPERM);
        _exit(0);
    }
    CU_ASSERT_EQUAL(wait_child(pid), 0);
    expect_value(ns, "secret", "s3cr3t", 6);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_planted_world_writable_object_is_refused(void) {
    if (!need_root()) return;
    unique_name(name, sizeof name, "squat");
    mmf_unlink(name, NULL);
    pid_t pid = fork();
    if (pid == 0) { /* another user plants a valid namespace anyone may write */
        become_nobody();
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.mode = 0666;
        mmf *ns;
        CHILD_REQUIRE(mmf_open(&o, &ns) == MMF_OK);
        mmf_close(ns);
        _exit(0);
    }
    CU_ASSERT_EQUAL_FATAL(wait_child(pid), 0);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    mmf *ns;
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EPERM);
    char path[256];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    CU_ASSERT_EQUAL(chmod(path, 0644), 0); /* the same, not writable by others: trusted */
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_OK);
    if (ns) mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_names_stay_inside(void) {
    const char *bad[] = {"..", "../etc", "a/../../b", "/abs", "x/y", ".mmf-x", "..hidden"};
    mmf_options o = MMF_OPTIONS_INIT;
    mmf *ns;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        o.name = bad[i];
        CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
        CU_ASSERT_EQUAL(mmf_unlink(bad[i], NULL), MMF_EINVAL);
    }
}

static void test_symlink_in_shm_is_not_followed(void) {
    unique_name(name, sizeof name, "link");
    char path[256], target[256];
    snprintf(path, sizeof path, "/dev/shm/%s", name);
    snprintf(target, sizeof target, "/tmp/mmf-link-target-%d", (int)getpid());
    int fd = open(target, O_CREAT | O_WRONLY, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    mmf *ns;
    CU_ASSERT_NOT_EQUAL(mmf_open(&o, &ns), MMF_OK); /* refused, not followed */
    struct stat st;
    CU_ASSERT_EQUAL(stat(target, &st), 0);
    CU_ASSERT_EQUAL(st.st_size, 0); /* and the target untouched */
    unlink(path);
    unlink(target);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    static const test_case tests[] = {
        {"another user cannot open, read or remove it", test_other_user_is_refused},
        {"a world-writable object of another user is refused",
         test_planted_world_writable_object_is_refused},
        {"no name reaches outside /dev/shm", test_names_stay_inside},
        {"a symlink planted in /dev/shm is not followed", test_symlink_in_shm_is_not_followed},
        {NULL, NULL}};
    return run_suite("security", tests);
}
