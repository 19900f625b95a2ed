/* The public API in one process: every function's semantics and bad input. */
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/layout.h" /* where the header keeps a few words, for bad images */
#include "testutil.h"

static char name[128];

static mmf *open_new(uint64_t size, uint32_t max_vars) {
    mmf *ns = fresh(unique_name(name, sizeof name, "api"), size, max_vars);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    return ns;
}

/* One that never grows: max_size = size. */
static mmf *open_fixed(uint64_t size, uint32_t max_vars) {
    mmf *ns = fresh_fixed(unique_name(name, sizeof name, "api"), size, max_vars);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    return ns;
}

static void done(mmf *ns) {
    if (mmf_check(ns, NULL) != MMF_OK) {
        mmf_check(ns, stderr);
        CU_FAIL("mmf_check failed");
    }
    CU_ASSERT_EQUAL(mmf_close(ns), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlink(name, NULL), MMF_OK);
}

static void test_set_get_delete_exists(void) {
    mmf *ns = open_new(0, 0);
    struct point {
        int x, y;
        double z;
    } p = {1, -2, 3.5}, q;
    CU_ASSERT_EQUAL(mmf_set(ns, "greeting", "hello, world", 12), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "point", &p, sizeof p), MMF_OK);
    expect_value(ns, "greeting", "hello, world", 12);
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(ns, "point", &q, sizeof q, &len), MMF_OK);
    CU_ASSERT_EQUAL(len, sizeof q);
    CU_ASSERT(q.x == 1 && q.y == -2 && q.z == 3.5);
    CU_ASSERT_EQUAL(mmf_exists(ns, "greeting"), 1);
    CU_ASSERT_EQUAL(mmf_exists(ns, "nothing"), 0);
    CU_ASSERT_EQUAL(mmf_delete(ns, "greeting"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_exists(ns, "greeting"), 0);
    CU_ASSERT_EQUAL(mmf_get(ns, "greeting", NULL, 0, &len), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(mmf_delete(ns, "greeting"), MMF_ENOTFOUND);
    expect_value(ns, "point", &p, sizeof p);
    done(ns);
}

static void test_empty_value_keeps_the_name(void) {
    mmf *ns = open_new(0, 0);
    mmf_stats before, after;
    mmf_stat(ns, &before);
    CU_ASSERT_EQUAL(mmf_set(ns, "v", "some bytes", 10), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "v", NULL, 0), MMF_OK);
    CU_ASSERT_EQUAL(mmf_exists(ns, "v"), 1);
    size_t len = 99;
    CU_ASSERT_EQUAL(mmf_get(ns, "v", NULL, 0, &len), MMF_OK);
    CU_ASSERT_EQUAL(len, 0);
    mmf_stat(ns, &after);
    CU_ASSERT_EQUAL(after.heap_used, before.heap_used); /* its memory is freed */
    CU_ASSERT_EQUAL(after.vars, 1);
    CU_ASSERT_EQUAL(mmf_set(ns, "v", "", 0), MMF_OK); /* empty again, in place */
    CU_ASSERT_EQUAL(mmf_set(ns, "v", "back", 4), MMF_OK);
    expect_value(ns, "v", "back", 4);
    CU_ASSERT_EQUAL(mmf_delete(ns, "v"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_exists(ns, "v"), 0);
    done(ns);
}

static void test_buffer_too_small(void) {
    mmf *ns = open_new(0, 0);
    CU_ASSERT_EQUAL(mmf_set(ns, "k", "0123456789", 10), MMF_OK);
    char buf[4] = "abc";
    size_t len = 0;
    CU_ASSERT_EQUAL(mmf_get(ns, "k", buf, sizeof buf, &len), MMF_ERANGE);
    CU_ASSERT_EQUAL(len, 10);
    len = 0;
    CU_ASSERT_EQUAL(mmf_get(ns, "k", NULL, 0, &len), MMF_ERANGE);
    CU_ASSERT_EQUAL(len, 10);
    CU_ASSERT_EQUAL(mmf_get(ns, "k", NULL, 4, &len), MMF_EINVAL);
    done(ns);
}

static void test_values_grow_shrink_and_keys_of_every_length(void) {
    mmf *ns = open_new(4 << 20, 0);
    static char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    size_t sizes[] = {1, 8, 63, 64, 65, 500, 4096, 100000, 3, 0, 77};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        CU_ASSERT_EQUAL(mmf_set(ns, "changing", big, sizes[i]), MMF_OK);
        expect_value(ns, "changing", big, sizes[i]);
    }
    char key[MMF_KEY_MAX + 2];
    for (size_t klen = 1; klen <= MMF_KEY_MAX; klen += 17) {
        memset(key, 'a' + (int)(klen % 26), klen);
        key[klen] = '\0';
        CU_ASSERT_EQUAL(mmf_set(ns, key, &klen, sizeof klen), MMF_OK);
    }
    for (size_t klen = 1; klen <= MMF_KEY_MAX; klen += 17) {
        memset(key, 'a' + (int)(klen % 26), klen);
        key[klen] = '\0';
        expect_value(ns, key, &klen, sizeof klen);
    }
    memset(key, 'k', MMF_KEY_MAX + 1);
    key[MMF_KEY_MAX + 1] = '\0';
    CU_ASSERT_EQUAL(mmf_set(ns, key, "x", 1), MMF_EINVAL);
    key[MMF_KEY_MAX] = '\0';
    CU_ASSERT_EQUAL(mmf_set(ns, key, "x", 1), MMF_OK);
    expect_value(ns, key, "x", 1);
    done(ns);
}

static void test_versions(void) {
    mmf *ns = open_new(0, 0);
    uint64_t v0 = 1, v1, v2, v3, v4;
    size_t len;
    char buf[16];
    CU_ASSERT_EQUAL(mmf_get_v(ns, "k", buf, sizeof buf, &len, &v0), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(v0, 0);
    mmf_set(ns, "k", "a", 1);
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v1);
    mmf_set(ns, "k", "b", 1); /* in place */
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v2);
    mmf_set(ns, "k", buf, 0); /* structural */
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v3);
    CU_ASSERT(v1 != 0 && v2 > v1 && v3 > v2);
    mmf_delete(ns, "k");
    mmf_set(ns, "other", "o", 1);
    mmf_set(ns, "k", "c", 1);
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v4);
    CU_ASSERT(v4 > v3); /* never repeats, even across delete and re-create */
    done(ns);
}

static void test_cas(void) {
    mmf *ns = open_new(0, 0);
    uint64_t v;
    size_t len;
    char buf[16];
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", 5, "x", 1), MMF_ECONFLICT);
    CU_ASSERT_EQUAL(mmf_exists(ns, "k"), 0);
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", 0, "first", 5), MMF_OK); /* 0: only if missing */
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", 0, "again", 5), MMF_ECONFLICT);
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v);
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", v + 2, "wrong", 5), MMF_ECONFLICT);
    expect_value(ns, "k", "first", 5);
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", v, "second", 6), MMF_OK);
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", v, "third", 5), MMF_ECONFLICT);
    expect_value(ns, "k", "second", 6);
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v);
    static char big[5000];
    CU_ASSERT_EQUAL(mmf_cas(ns, "k", v, big, sizeof big), MMF_OK); /* structural */
    expect_value(ns, "k", big, sizeof big);
    done(ns);
}

static void test_tags(void) {
    mmf *ns = open_new(0, 0);
    char buf[2000];
    size_t len;
    uint64_t v;
    uint8_t tag = 99;
    CU_ASSERT_EQUAL(mmf_set_tagged(ns, "t", "frozen", 6, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_get_tagged(ns, "t", buf, sizeof buf, &len, &v, &tag), MMF_OK);
    CU_ASSERT(tag == 1 && len == 6);
    expect_value(ns, "t", "frozen", 6);                     /* a plain get sees the bytes */
    CU_ASSERT_EQUAL(mmf_set(ns, "t", "plain!", 6), MMF_OK); /* in place: tag 0 */
    CU_ASSERT_EQUAL(mmf_get_tagged(ns, "t", buf, sizeof buf, &len, &v, &tag), MMF_OK);
    CU_ASSERT_EQUAL(tag, 0);
    static char big[1500];
    CU_ASSERT_EQUAL(mmf_set_tagged(ns, "t", big, sizeof big, 7), MMF_OK); /* structural */
    CU_ASSERT_EQUAL(mmf_get_tagged(ns, "t", buf, sizeof buf, &len, &v, &tag), MMF_OK);
    CU_ASSERT(tag == 7 && len == sizeof big);
    CU_ASSERT_EQUAL(mmf_cas_tagged(ns, "t", v, "x", 1, 3), MMF_OK);
    CU_ASSERT_EQUAL(mmf_cas_tagged(ns, "t", v, "y", 1, 4), MMF_ECONFLICT);
    CU_ASSERT_EQUAL(mmf_get_tagged(ns, "t", buf, sizeof buf, &len, &v, &tag), MMF_OK);
    CU_ASSERT(tag == 3 && len == 1 && buf[0] == 'x');
    CU_ASSERT_EQUAL(mmf_get_tagged(ns, "t", buf, sizeof buf, &len, &v, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_get_tagged(ns, "none", buf, sizeof buf, &len, &v, &tag), MMF_ENOTFOUND);
    CU_ASSERT_EQUAL(v, 0);
    done(ns);
}

static void test_add_i64(void) {
    mmf *ns = open_new(0, 0);
    int64_t r = 0;
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "n", 5, &r), MMF_OK);
    CU_ASSERT_EQUAL(r, 5);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "n", -7, &r), MMF_OK);
    CU_ASSERT_EQUAL(r, -2);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "n", 0, NULL), MMF_OK);
    int64_t raw;
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(ns, "n", &raw, sizeof raw, &len), MMF_OK);
    CU_ASSERT(len == 8 && raw == -2);
    mmf_set(ns, "s", "abc", 3);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "s", 1, &r), MMF_EINVAL);
    expect_value(ns, "s", "abc", 3);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "n", INT64_MAX, &r), MMF_OK); /* wraps, no UB */
    done(ns);
}

static void test_in_place_write_takes_no_mutex(void) {
    mmf *ns = open_new(0, 0);
    CU_ASSERT_EQUAL(mmf_set(ns, "quote", "1.23456", 7), MMF_OK);
    mmf_stats a, b;
    mmf_stat(ns, &a);
    for (int i = 0; i < 100; i++) {
        char v[16];
        int n = snprintf(v, sizeof v, "%d.%05d", i, i);
        CU_ASSERT_EQUAL(mmf_set(ns, "quote", v, (size_t)n), MMF_OK);
        CU_ASSERT_EQUAL(mmf_add_i64(ns, "ticks", 1, NULL), MMF_OK);
    }
    mmf_stat(ns, &b);
    /* one acquisition: the insert of "ticks"; every other write was in place */
    CU_ASSERT_EQUAL(b.lock_acquisitions, a.lock_acquisitions + 1);
    expect_value(ns, "quote", "99.00099", 8);
    done(ns);
}

static void test_full_heap_changes_nothing(void) {
    mmf *ns = open_fixed(64 << 10, 64);
    char val[1000];
    int stored = 0;
    for (int i = 0; i < 64; i++) {
        char key[16];
        snprintf(key, sizeof key, "v%d", i);
        memset(val, 'a' + i % 26, sizeof val);
        int rc = mmf_set(ns, key, val, sizeof val);
        if (rc == MMF_ENOSPC) break;
        CU_ASSERT_EQUAL_FATAL(rc, MMF_OK);
        stored++;
    }
    CU_ASSERT(stored > 0 && stored < 64);
    mmf_stats before, after;
    mmf_stat(ns, &before);
    static char huge[1 << 20];
    CU_ASSERT_EQUAL(mmf_set(ns, "v0", huge, sizeof huge), MMF_ENOSPC); /* grow fails */
    CU_ASSERT_EQUAL(mmf_set(ns, "newcomer", val, sizeof val), MMF_ENOSPC);
    mmf_stat(ns, &after);
    CU_ASSERT_EQUAL(after.heap_used, before.heap_used);
    CU_ASSERT_EQUAL(after.vars, before.vars);
    CU_ASSERT_EQUAL(after.size, before.size); /* nothing grew either */
    CU_ASSERT_EQUAL(after.heap_size, before.heap_size);
    CU_ASSERT_EQUAL(after.grows, before.grows);
    CU_ASSERT_EQUAL(mmf_exists(ns, "newcomer"), 0);
    for (int i = 0; i < stored; i++) {
        char key[16];
        snprintf(key, sizeof key, "v%d", i);
        memset(val, 'a' + i % 26, sizeof val);
        expect_value(ns, key, val, sizeof val);
    }
    done(ns);
}

static void test_full_index_changes_nothing(void) {
    /* room for 10 asked: slots come a page (16) at a time, so 10 to 16 */
    mmf *ns = open_fixed(1 << 20, 10);
    mmf_stats st, after;
    mmf_stat(ns, &st);
    CU_ASSERT(st.max_vars >= 10 && st.max_vars <= 16);
    int n = (int)st.max_vars;
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "v%d", i);
        CU_ASSERT_EQUAL(mmf_set(ns, key, key, strlen(key)), MMF_OK);
    }
    char more[16];
    snprintf(more, sizeof more, "v%d", n);
    mmf_stat(ns, &st);
    CU_ASSERT_EQUAL(st.vars, (uint64_t)n);
    CU_ASSERT_EQUAL(mmf_set(ns, more, "x", 1), MMF_ENOSPC);
    CU_ASSERT_EQUAL(mmf_add_i64(ns, "counter", 1, NULL), MMF_ENOSPC);
    mmf_stat(ns, &after);
    CU_ASSERT_EQUAL(after.vars, st.vars);
    CU_ASSERT_EQUAL(after.max_vars, st.max_vars);
    CU_ASSERT_EQUAL(after.heap_used, st.heap_used);
    CU_ASSERT_EQUAL(after.size, st.size);
    CU_ASSERT_EQUAL(after.grows, st.grows);
    CU_ASSERT_EQUAL(mmf_exists(ns, more), 0);
    CU_ASSERT_EQUAL(mmf_exists(ns, "counter"), 0);
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "v%d", i);
        expect_value(ns, key, key, strlen(key));
    }
    CU_ASSERT_EQUAL(mmf_set(ns, "v3", "still writable", 14), MMF_OK);
    CU_ASSERT_EQUAL(mmf_delete(ns, "v0"), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, more, "x", 1), MMF_OK);
    done(ns);
}

struct seen {
    int count;
    long sum;
};
static int visit(const char *key, const void *val, size_t len, uint64_t version, void *ctx) {
    struct seen *s = ctx;
    CU_ASSERT(version > 0);
    CU_ASSERT(len == sizeof(int64_t));
    CU_ASSERT(strncmp(key, "n", 1) == 0);
    int64_t v;
    memcpy(&v, val, sizeof v);
    s->sum += v;
    return ++s->count == 1000 ? 77 : 0;
}

static void test_foreach_and_stat(void) {
    mmf *ns = open_new(2 << 20, 0);
    for (int64_t i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "n%d", (int)i);
        mmf_add_i64(ns, key, i, NULL);
    }
    mmf_delete(ns, "n0");
    static char big[1000];
    mmf_set(ns, "big", big, sizeof big); /* inline values use no heap; this one does */
    mmf_delete(ns, "big");
    mmf_set(ns, "big", big, sizeof big);
    mmf_delete(ns, "big");
    struct seen s = {0, 0};
    CU_ASSERT_EQUAL(mmf_foreach(ns, visit, &s), MMF_OK);
    CU_ASSERT_EQUAL(s.count, 99);
    CU_ASSERT_EQUAL(s.sum, 4950);
    mmf_stats st;
    CU_ASSERT_EQUAL(mmf_stat(ns, &st), MMF_OK);
    CU_ASSERT_EQUAL(st.vars, 99);
    CU_ASSERT_EQUAL(st.heap_used, 0);
    CU_ASSERT_EQUAL(st.heap_used + st.heap_free, st.heap_size);
    mmf_set(ns, "big", big, sizeof big);
    mmf_stat(ns, &st);
    CU_ASSERT_EQUAL(st.heap_used, 2 * 1024); /* two 1 KiB blocks: current and spare */
    CU_ASSERT_EQUAL(st.heap_used + st.heap_free, st.heap_size);
    mmf_delete(ns, "big");
    CU_ASSERT(st.largest_free_block <= st.heap_free);
    CU_ASSERT_EQUAL(st.size, 2 << 20);
    done(ns);
}

static int stop_early(const char *key, const void *val, size_t len, uint64_t version, void *ctx) {
    (void)key, (void)val, (void)len, (void)version;
    return ++*(int *)ctx == 3 ? 42 : 0;
}

static void test_foreach_stops(void) {
    mmf *ns = open_new(0, 0);
    for (int i = 0; i < 10; i++) {
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        mmf_set(ns, key, "", 0);
    }
    int calls = 0;
    CU_ASSERT_EQUAL(mmf_foreach(ns, stop_early, &calls), 42);
    CU_ASSERT_EQUAL(calls, 3);
    done(ns);
}

static void test_dump_and_check(void) {
    mmf *ns = open_new(0, 0);
    mmf_set(ns, "visible.key", "dump me", 7);
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    CU_ASSERT_EQUAL(mmf_dump(ns, f), MMF_OK);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "visible.key"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"dump me\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "free lists:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "heap blocks:"));
    free(text);
    f = open_memstream(&text, &n);
    CU_ASSERT_EQUAL(mmf_check(ns, f), MMF_OK);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ok: 1 variables"));
    free(text);
    done(ns);
}

static void test_reopen_reuse_exclusive(void) {
    mmf *ns = open_new(0, 0);
    mmf_set(ns, "kept", "across views", 12);
    mmf_close(ns);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.reuse = true;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    expect_value(ns, "kept", "across views", 12);
    mmf *second;
    o.reuse = false;
    o.exclusive = true;
    CU_ASSERT_EQUAL(mmf_open(&o, &second), MMF_EEXIST);
    done(ns);
    o.exclusive = false;
    o.reuse = true;
    CU_ASSERT_EQUAL(mmf_open(&o, &second), MMF_ENOENT);
    CU_ASSERT_EQUAL(mmf_unlink(name, NULL), MMF_ENOENT);
}

static void test_backing_file(void) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/mmf-test-%d.swp", (int)getpid());
    unlink(path);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = "FileBacked";
    o.path = path;
    o.size = 256 << 10;
    o.mode = 0640;
    mmf *ns;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "persisted", "yes", 3), MMF_OK);
    mmf_stats stats;
    CU_ASSERT_EQUAL(mmf_stat(ns, &stats), MMF_OK);
    CU_ASSERT_EQUAL(stats.size, 256 << 10); /* committed: what size asked */
    mmf_close(ns);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
    /* the file is as long as the reserve for max_size (its header says so),
       sparse: what is allocated is the committed part, never past max_size */
    uint64_t map_size = 0;
    int fd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(pread(fd, &map_size, sizeof map_size, offsetof(struct mmf_header, map_size)),
                    (ssize_t)sizeof map_size);
    close(fd);
    CU_ASSERT_EQUAL((uint64_t)st.st_size, map_size);
    CU_ASSERT((uint64_t)st.st_size > MMF_DEFAULT_MAX_SIZE);
    CU_ASSERT((uint64_t)st.st_blocks * 512 >= 256 << 10);
    CU_ASSERT((uint64_t)st.st_blocks * 512 <= MMF_DEFAULT_MAX_SIZE);
    o.reuse = true;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    expect_value(ns, "persisted", "yes", 3);
    mmf_close(ns);
    CU_ASSERT_EQUAL(mmf_unlink(NULL, path), MMF_OK);
    CU_ASSERT_EQUAL(stat(path, &st), -1);
}

static void write_file(const char *path, const void *bytes, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, bytes, n), (ssize_t)n);
    close(fd);
}

static void *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    rewind(f);
    void *b = malloc(*n);
    CU_ASSERT_EQUAL(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void test_bad_images_are_refused_untouched(void) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/mmf-test-img-%d.swp", (int)getpid());
    unlink(path);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = "Image";
    o.path = path;
    o.size = 128 << 10;
    o.max_size = o.size; /* a small file to copy */
    mmf *ns;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    mmf_set(ns, "k", "v", 1);
    mmf_close(ns);
    size_t n;
    unsigned char *good = read_file(path, &n);
    unsigned char *bad = malloc(n);
    o.reuse = true;
    struct {
        size_t at;
        unsigned char byte;
        size_t len;
        int expect;
    } cases[] = {
        {0, 0x00, n, MMF_ECORRUPT}, /* magic */
        {8, 0x07, n, MMF_EVERSION}, /* layout version */
        {offsetof(struct mmf_header, map_size), 0x01, n, MMF_ECORRUPT},
        {offsetof(struct mmf_header, index_cap_max), 0x03, n, MMF_ECORRUPT}, /* not a power of 2 */
        {offsetof(struct mmf_header, index_off) + 8 + 1, 0x7f, n, MMF_ECORRUPT}, /* buffer 1 */
        {offsetof(struct mmf_header, max_size) + 7, 0x7f, n, MMF_ECORRUPT},
        {0, 0x6d, n - 4096, MMF_ECORRUPT}, /* truncated */
        {0, 0x6d, 100, MMF_ECORRUPT},      /* shorter than a header */
        {0, 0x6d, 0, MMF_ECORRUPT},        /* empty file */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(bad, good, n);
        bad[cases[i].at] = cases[i].byte;
        write_file(path, bad, cases[i].len);
        CU_ASSERT_EQUAL(mmf_open(&o, &ns), cases[i].expect);
        size_t m;
        unsigned char *after = read_file(path, &m);
        CU_ASSERT(m == cases[i].len && memcmp(after, bad, m) == 0); /* nothing written */
        free(after);
    }
    write_file(path, good, n);
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    expect_value(ns, "k", "v", 1);
    mmf_close(ns);
    free(good);
    free(bad);
    unlink(path);
}

static void test_bad_arguments(void) {
    mmf *ns = open_new(0, 0);
    size_t len;
    char buf[8];
    uint64_t v;
    mmf_set(ns, "k", "v", 1);
    CU_ASSERT_EQUAL(mmf_set(NULL, "k", "v", 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_set(ns, NULL, "v", 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_set(ns, "", "v", 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_set(ns, "k", NULL, 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_get(NULL, "k", buf, 8, &len), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_get(ns, NULL, buf, 8, &len), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_get(ns, "k", buf, 8, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_get_v(ns, "k", buf, 8, &len, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_get_v(NULL, "k", buf, 8, &len, &v), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_delete(ns, ""), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_delete(NULL, "k"), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_exists(ns, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_exists(NULL, "k"), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_cas(ns, NULL, 0, "v", 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_add_i64(NULL, "k", 1, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_wait(ns, "k", 0, -1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_wait(ns, NULL, 0, 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_lock(ns, -1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_lock(ns, NAN), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_lock(NULL, 1), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_unlock(NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_dump(ns, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_dump(NULL, stdout), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_check(NULL, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_stat(ns, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_stat(NULL, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_foreach(ns, NULL, NULL), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_close(NULL), MMF_EINVAL);
    expect_value(ns, "k", "v", 1); /* nothing changed */
    done(ns);
}

/* Keys of every length up to past the fast path's 16 bytes, each ending
   right before an unreadable page and at other offsets in its page: gets
   find exactly the key given (never a prefix, never one read past the
   NUL), and none faults. */
static void test_keys_at_page_ends(void) {
    mmf *ns = open_new(0, 0);
    long page = sysconf(_SC_PAGESIZE);
    char *map =
        mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CU_ASSERT_FATAL(map != MAP_FAILED);
    CU_ASSERT_EQUAL_FATAL(mprotect(map + page, (size_t)page, PROT_NONE), 0);
    char key[32], buf[64];
    size_t len;
    for (size_t n = 1; n <= 20; n++) {
        for (size_t i = 0; i < n; i++)
            key[i] = (char)('a' + (n + i) % 26);
        key[n] = 0;
        CU_ASSERT_EQUAL(mmf_set(ns, key, key, n), MMF_OK);
    }
    for (size_t n = 1; n <= 20; n++) {
        for (size_t i = 0; i < n; i++)
            key[i] = (char)('a' + (n + i) % 26);
        key[n] = 0;
        /* the NUL at the page's last byte, then at offsets before it */
        for (size_t back = 0; back < 40; back++) {
            char *k = map + page - (n + 1) - back;
            memcpy(k, key, n + 1);
            memset(k + n + 1, 'x', back); /* bytes past the NUL are never key bytes */
            memset(buf, 0, sizeof buf);
            CU_ASSERT_EQUAL(mmf_get(ns, k, buf, sizeof buf, &len), MMF_OK);
            CU_ASSERT_EQUAL(len, n);
            CU_ASSERT_EQUAL(memcmp(buf, key, n), 0);
            if (n > 1) { /* its prefix is a key nobody set */
                k[n - 1] = 0;
                CU_ASSERT_EQUAL(mmf_get(ns, k, buf, sizeof buf, &len), MMF_ENOTFOUND);
            }
        }
    }
    /* and each ending a heap block, at each of the 16 offsets from the
       block's aligned start (the key is measured with aligned 16-byte
       loads): the suite runs under valgrind's memcheck (scripts/test.sh),
       which fails on any use of a byte past the block, as it would in a
       user's program */
    for (size_t pre = 0; pre < 16; pre++)
        for (size_t n = 1; n <= 20; n++) {
            char *b = malloc(pre + n + 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(b);
            char *k = b + pre;
            memset(b, 'p', pre);
            for (size_t i = 0; i < n; i++)
                k[i] = (char)('a' + (n + i) % 26);
            k[n] = 0;
            CU_ASSERT_EQUAL(mmf_get(ns, k, buf, sizeof buf, &len), MMF_OK);
            CU_ASSERT_EQUAL(len, n);
            CU_ASSERT_EQUAL(mmf_exists(ns, k), 1);
            free(b);
        }
    /* the empty key ending a page */
    map[page - 1] = 0;
    CU_ASSERT_EQUAL(mmf_get(ns, map + page - 1, buf, sizeof buf, &len), MMF_EINVAL);
    CU_ASSERT_EQUAL(munmap(map, 2 * (size_t)page), 0);
    done(ns);
}

static void test_bad_options(void) {
    mmf *ns = NULL;
    mmf_options o = MMF_OPTIONS_INIT;
    CU_ASSERT_EQUAL(mmf_open(NULL, &ns), MMF_EINVAL);
    o.name = "ok.name";
    CU_ASSERT_EQUAL(mmf_open(&o, NULL), MMF_EINVAL);
    char long_name[MMF_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    const char *bad_names[] = {NULL,      "",       long_name,    "a/b",   "..",           "a..b",
                               ".hidden", "sp ace", "semi;colon", "tab\t", "uml\xc3\xa4ut"};
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
        o.name = bad_names[i];
        CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
        if (bad_names[i]) CU_ASSERT_EQUAL(mmf_unlink(bad_names[i], NULL), MMF_EINVAL);
    }
    long_name[MMF_NAME_MAX] = '\0'; /* exactly 200 is fine */
    o.name = long_name;
    mmf_unlink(long_name, NULL);
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    mmf_close(ns);
    CU_ASSERT_EQUAL(mmf_unlink(long_name, NULL), MMF_OK);
    o.name = unique_name(name, sizeof name, "opts");
    o.size = 8192; /* no room for header, index and heap */
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
    o.size = 0;
    o.timeout = -1;
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
    o.timeout = INFINITY;
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
    o.timeout = 1;
    o.mode = 010000;
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
    o.mode = 0600;
    o.reuse = o.exclusive = true;
    CU_ASSERT_EQUAL(mmf_open(&o, &ns), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_unlink(name, NULL), MMF_ENOENT); /* none was created */
    for (int e = MMF_ESYS; e <= MMF_OK; e++)
        CU_ASSERT_STRING_NOT_EQUAL(mmf_strerror(e), "unknown error");
    CU_ASSERT_STRING_EQUAL(mmf_strerror(-99), "unknown error");
}

static void test_open_spec(void) {
    char spec[512];
    unique_name(name, sizeof name, "spec");
    snprintf(spec, sizeof spec,
             "-Name=%s, SIZE=2M  max_vars=100,timeout=2.5 AutoLock=off mode=0640", name);
    mmf_options o;
    char buf[512];
    CU_ASSERT_EQUAL_FATAL(mmf_parse_spec(spec, &o, buf, sizeof buf), MMF_OK);
    CU_ASSERT_STRING_EQUAL(o.name, name);
    CU_ASSERT_EQUAL(o.size, 2u << 20);
    CU_ASSERT_EQUAL(o.max_vars, 100);
    CU_ASSERT_EQUAL(o.timeout, 2.5);
    CU_ASSERT_EQUAL(o.autolock, false);
    CU_ASSERT_EQUAL(o.mode, 0640);
    CU_ASSERT_PTR_NULL(o.path);
    mmf *ns;
    CU_ASSERT_EQUAL_FATAL(mmf_open_spec(spec, &ns), MMF_OK);
    mmf_stats st;
    mmf_stat(ns, &st);
    CU_ASSERT_EQUAL(st.size, 2u << 20);
    /* room for 100 (slots come 16 at a time), not the 1024 that 2M gives by default */
    CU_ASSERT(st.max_vars >= 100 && st.max_vars < 100 + 16);
    CU_ASSERT_EQUAL(mmf_set(ns, "k", "v", 1), MMF_ENOLOCK); /* autolock=off */
    mmf_close(ns);
    mmf_unlink(name, NULL);
    const char *bad[] = {
        "size=2M",           "name=x size=12Q", "name=x bogus=1", "name=x reuse=maybe",
        "name=x timeout=-3", "name=x mode=9",   "name",           "name=x size=M"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CU_ASSERT_EQUAL(mmf_open_spec(bad[i], &ns), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_open_spec(NULL, &ns), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_parse_spec("name=x", &o, buf, 3), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_parse_spec("name=x size=1g swapfile=/tmp/f reuse=YES", &o, buf, sizeof buf),
                    MMF_OK);
    CU_ASSERT_EQUAL(o.size, 1ull << 30);
    CU_ASSERT_STRING_EQUAL(o.path, "/tmp/f");
    CU_ASSERT(o.reuse);
}

static void test_parse_size(void) {
    const struct {
        const char *text;
        uint64_t size;
    } good[] = {{"0", 0},
                {"65536", 65536},
                {"640K", 640u << 10},
                {"640k", 640u << 10},
                {"2M", 2u << 20},
                {"2mb", 2u << 20},
                {"1GB", 1ull << 30},
                {"7B", 7},
                {"16G", 16ull << 30},
                {"18446744073709551615", UINT64_MAX}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        uint64_t v = 1;
        CU_ASSERT_EQUAL(mmf_parse_size(good[i].text, &v), MMF_OK);
        CU_ASSERT_EQUAL(v, good[i].size);
    }
    const char *bad[] = {"",
                         "M",
                         "-1",
                         " 1",
                         "1 ",
                         "2T",
                         "2KK",
                         "2BB",
                         "1.5M",
                         "0x10",
                         "18446744073709551616",
                         "17179869184G"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 1;
        CU_ASSERT_EQUAL(mmf_parse_size(bad[i], &v), MMF_EINVAL);
        CU_ASSERT_EQUAL(v, 1); /* untouched */
    }
    uint64_t v;
    CU_ASSERT_EQUAL(mmf_parse_size(NULL, &v), MMF_EINVAL);
    CU_ASSERT_EQUAL(mmf_parse_size("1K", NULL), MMF_EINVAL);
}

static void test_autolock_off_needs_the_lock(void) {
    mmf *ns = open_new(0, 0);
    mmf_set(ns, "k", "before", 6);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    o.autolock = false;
    mmf *manual;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &manual), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(manual, "k", "after!", 6), MMF_ENOLOCK);
    CU_ASSERT_EQUAL(mmf_delete(manual, "k"), MMF_ENOLOCK);
    CU_ASSERT_EQUAL(mmf_add_i64(manual, "n", 1, NULL), MMF_ENOLOCK);
    expect_value(manual, "k", "before", 6); /* reads need no lock */
    CU_ASSERT_EQUAL(mmf_lock(manual, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(manual, "k", "after!", 6), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(manual, "new", "n", 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(manual), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(manual, "k", "again!", 6), MMF_ENOLOCK);
    expect_value(ns, "k", "after!", 6);
    mmf_close(manual);
    done(ns);
}

static void test_lock_is_recursive_and_owned(void) {
    mmf *ns = open_new(0, 0);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_ENOLOCK);
    CU_ASSERT_EQUAL(mmf_lock(ns, 0), MMF_OK);
    CU_ASSERT_EQUAL(mmf_lock(ns, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "inside", "x", 1), MMF_OK); /* structural, under our lock */
    CU_ASSERT_EQUAL(mmf_set(ns, "inside", "y", 1), MMF_OK); /* in place, under our lock */
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_ENOLOCK);
    CU_ASSERT_EQUAL(mmf_lock(ns, 1), MMF_OK);
    mmf_close(ns); /* closing releases a lock still held */
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = name;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    CU_ASSERT_EQUAL(mmf_lock(ns, 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_unlock(ns), MMF_OK);
    done(ns);
}

static void test_wait_timeout_and_changed(void) {
    mmf *ns = open_new(0, 0);
    CU_ASSERT_EQUAL(mmf_wait(ns, "missing", 0, 0.05), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_wait(ns, "missing", 6, 0.05), MMF_OK); /* differs from 0 */
    mmf_set(ns, "k", "v", 1);
    uint64_t v;
    size_t len;
    char buf[4];
    mmf_get_v(ns, "k", buf, sizeof buf, &len, &v);
    CU_ASSERT_EQUAL(mmf_wait(ns, "k", v, 0.05), MMF_ETIMEDOUT);
    CU_ASSERT_EQUAL(mmf_wait(ns, "k", v - 2, 0.05), MMF_OK);
    CU_ASSERT_EQUAL(mmf_wait(ns, "k", 0, 0.05), MMF_OK);
    done(ns);
}

int main(void) {
    static const test_case tests[] = {
        {"set, get, delete, exists", test_set_get_delete_exists},
        {"an empty value keeps the name and frees memory", test_empty_value_keeps_the_name},
        {"a buffer too small is MMF_ERANGE with the length", test_buffer_too_small},
        {"values grow and shrink; keys of every length",
         test_values_grow_shrink_and_keys_of_every_length},
        {"versions change on every write and never repeat", test_versions},
        {"compare-and-set", test_cas},
        {"tags travel with values", test_tags},
        {"add_i64", test_add_i64},
        {"an in-place write takes no mutex", test_in_place_write_takes_no_mutex},
        {"a full heap changes nothing", test_full_heap_changes_nothing},
        {"a full index changes nothing", test_full_index_changes_nothing},
        {"foreach and stat", test_foreach_and_stat},
        {"foreach stops on a non-zero return", test_foreach_stops},
        {"dump and check", test_dump_and_check},
        {"reopen, reuse, exclusive", test_reopen_reuse_exclusive},
        {"a backing file", test_backing_file},
        {"bad images are refused and left untouched", test_bad_images_are_refused_untouched},
        {"bad arguments change nothing", test_bad_arguments},
        {"keys of every length at a page's end", test_keys_at_page_ends},
        {"bad options", test_bad_options},
        {"open from a text spec", test_open_spec},
        {"sizes with K/M/G", test_parse_size},
        {"autolock off: writes need the lock", test_autolock_off_needs_the_lock},
        {"the lock is recursive and owned", test_lock_is_recursive_and_owned},
        {"wait: timeout, and a version that differs", test_wait_timeout_and_changed},
        {NULL, NULL}};
    return run_suite("api", tests);
}
