/* Threads sharing one handle: the test ThreadSanitizer runs over. */
#include <pthread.h>
#include <stdatomic.h>

#include "testutil.h"

#define THREADS 4
#define OPS 20000
#define KEYS 32

static char name[128];
static mmf *shared;
static atomic_long torn, failed;

/* Values name their key and carry a checksum (make_value), so a torn or
   misplaced read shows. */
static void *worker(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    unsigned char buf[1024];
    char key[16];
    for (unsigned i = 0; i < OPS; i++) {
        uint32_t k = (uint32_t)rand_r(&seed) % KEYS;
        snprintf(key, sizeof key, "key%u", (unsigned)k);
        int op = (int)(rand_r(&seed) % 10), rc;
        size_t len;
        if (op < 5) {
            rc = mmf_get(shared, key, buf, sizeof buf, &len);
            if (rc == MMF_OK && !value_ok(buf, len, k))
                atomic_fetch_add(&torn, 1);
            else if (rc != MMF_OK && rc != MMF_ENOTFOUND)
                atomic_fetch_add(&failed, 1);
        } else if (op < 8) {
            /* lengths vary so that some writes need a new block */
            len = make_value(buf, k, i, 16 + (i * 37u) % 700u);
            if (mmf_set(shared, key, buf, len) != MMF_OK) atomic_fetch_add(&failed, 1);
        } else if (op < 9) {
            rc = mmf_delete(shared, key);
            if (rc != MMF_OK && rc != MMF_ENOTFOUND) atomic_fetch_add(&failed, 1);
        } else {
            if (mmf_add_i64(shared, "counter", 1, NULL) != MMF_OK) atomic_fetch_add(&failed, 1);
        }
    }
    return NULL;
}

static void test_threads_share_one_handle(void) {
    shared = fresh(unique_name(name, sizeof name, "threads"), 4 << 20, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shared);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i * 7919 + 1));
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(atomic_load(&torn), 0);
    CU_ASSERT_EQUAL(atomic_load(&failed), 0);
    CU_ASSERT_EQUAL(mmf_check(shared, stderr), MMF_OK);
    mmf_close(shared);
    mmf_unlink(name, NULL);
}

static void *counter(void *arg) {
    for (int i = 0; i < 10000; i++)
        if (mmf_add_i64(shared, "n", 1, NULL) != MMF_OK) atomic_fetch_add(&failed, 1);
    (void)arg;
    return NULL;
}

static void test_threads_count_exactly(void) {
    shared = fresh(unique_name(name, sizeof name, "tcount"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shared);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, counter, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int64_t n = 0;
    size_t len;
    CU_ASSERT_EQUAL(mmf_get(shared, "n", &n, sizeof n, &len), MMF_OK);
    CU_ASSERT_EQUAL(n, THREADS * 10000);
    CU_ASSERT_EQUAL(atomic_load(&failed), 0);
    mmf_close(shared);
    mmf_unlink(name, NULL);
}

static void *locker(void *arg) {
    /* the lock belongs to a thread: others wait while it is held */
    for (int i = 0; i < 200; i++) {
        if (mmf_lock(shared, 10) != MMF_OK) {
            atomic_fetch_add(&failed, 1);
            continue;
        }
        int64_t a, b;
        size_t len;
        mmf_add_i64(shared, "a", 1, &a);
        mmf_add_i64(shared, "b", 1, &b);
        mmf_get(shared, "a", &a, sizeof a, &len);
        mmf_get(shared, "b", &b, sizeof b, &len);
        if (a != b) atomic_fetch_add(&torn, 1); /* a pair changed together */
        mmf_unlock(shared);
    }
    (void)arg;
    return NULL;
}

static void test_lock_groups_operations_across_threads(void) {
    shared = fresh(unique_name(name, sizeof name, "tlock"), 0, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(shared);
    mmf_add_i64(shared, "a", 0, NULL);
    mmf_add_i64(shared, "b", 0, NULL);
    atomic_store(&torn, 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, locker, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(atomic_load(&torn), 0);
    CU_ASSERT_EQUAL(atomic_load(&failed), 0);
    int64_t a;
    size_t len;
    mmf_get(shared, "a", &a, sizeof a, &len);
    CU_ASSERT_EQUAL(a, THREADS * 200);
    mmf_close(shared);
    mmf_unlink(name, NULL);
}

int main(void) {
    static const test_case tests[] = {
        {"threads share one handle: no torn read, heap whole", test_threads_share_one_handle},
        {"threads count exactly", test_threads_count_exactly},
        {"the lock groups operations across threads", test_lock_groups_operations_across_threads},
        {NULL, NULL}};
    return run_suite("threads", tests);
}
