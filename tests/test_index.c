/* The hash index on its own: slots in ordinary memory, blocks placed by hand. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "../index/index.h"
#include "../index/inplace.h"
#include "testutil.h"

#define CAP 16u
#define SLOTS_OFF (CAP * 8u)
#define HEAP_OFF (SLOTS_OFF + CAP * MMF_SLOT_SIZE)
#define HEAP_SIZE (64u * 1024)

static unsigned char *region;
static struct mmfi_table t;
static uint64_t next_block, next_slot;
/* what the header holds for a namespace: the descriptor and the counts */
static mmf_a64 desc, slots_committed, heap_units;
static mmf_a64 spare[CAP * 4]; /* the second index buffer, for rebuilds */

/* The index in use (buffer 0 until a test rebuilds). */
static struct mmfi_view view(void) {
    struct mmfi_view v;
    CU_ASSERT_EQUAL_FATAL(mmfi_view_checked(&t, &v), 0);
    return v;
}

static void setup(void) {
    free(region);
    region = aligned_alloc(64, HEAP_OFF + HEAP_SIZE);
    memset(region, 0, HEAP_OFF + HEAP_SIZE);
    memset(spare, 0, sizeof spare);
    memset(&t, 0, sizeof t);
    t.base = region;
    store_relaxed(&desc, MMF_DESC_MAKE(1, 0, 4)); /* 16 entries = CAP */
    store_relaxed(&slots_committed, CAP);
    store_relaxed(&heap_units, HEAP_SIZE / MMFA_UNIT);
    t.desc = &desc;
    t.buf[0] = (mmf_a64 *)region;
    t.buf[1] = spare;
    t.mask_max = 15;
    t.slots = (struct mmf_slot *)(region + SLOTS_OFF);
    t.slots_max = CAP;
    t.slots_committed = &slots_committed;
    t.heap_lo = HEAP_OFF;
    t.heap_hi_max = HEAP_OFF + HEAP_SIZE;
    t.heap_units = &heap_units;
    mmfi_refresh(&t);
    next_block = HEAP_OFF;
    next_slot = 0;
}

static uint64_t block(unsigned order) {
    uint64_t off = next_block;
    next_block += (uint64_t)MMFA_UNIT << order;
    CU_ASSERT_FATAL(next_block <= HEAP_OFF + HEAP_SIZE);
    return off;
}

/* Inserts key = value (as core does, without its intent record), with the
   value in blocks (inline = 0) or in the slot. */
static uint64_t put_as(const char *key, const char *val, int inline_value) {
    size_t klen = strlen(key), len = strlen(val);
    struct mmfi_key k;
    mmfi_key_init(&k, key, klen);
    uint64_t pos, slot = 99;
    int present = -1;
    struct mmfi_view v = view();
    CU_ASSERT_EQUAL_FATAL(mmfi_find_for_write(&t, &v, &k, &pos, &slot, &present), MMFI_MISSING);
    CU_ASSERT_EQUAL(present, 0);
    uint64_t ko = klen > MMF_KEY_INLINE ? block(mmfi_key_order(klen)) : 0;
    if (ko) memcpy(region + ko, key, klen);
    struct mmf_slot_image img;
    if (inline_value) {
        mmfi_make_image(&img, &k, 1, ko, 0, 0, MMF_ORDER_INLINE, val, len);
    } else {
        uint64_t b0 = block(2), b1 = block(2);
        memcpy(region + b0, val, len);
        mmfi_make_image(&img, &k, 1, ko, b0, b1, 2, val, len);
    }
    CU_ASSERT_FATAL(next_slot < CAP);
    uint64_t version =
        mmfi_publish(&t.slots[next_slot], &img, 0, &v, pos, ENTRY_MAKE(k.hash, next_slot));
    next_slot++;
    return version;
}

static uint64_t put(const char *key, const char *val) {
    return put_as(key, val, 0);
}

/* mmfi_get with a key made from a string */
static int lookup(const char *key, char *buf, size_t cap, mmfi_hit *hit, const mmfi_stall *st) {
    struct mmfi_key k;
    mmfi_key_init(&k, key, strlen(key));
    return mmfi_get(&t, &k, buf, cap, hit, st);
}

static int get(const char *key, char *buf, size_t cap, mmfi_hit *hit) {
    int rc = lookup(key, buf, cap, hit, NULL);
    if (rc == MMFI_FOUND) buf[hit->len] = '\0';
    return rc;
}

static void del(const char *key) {
    struct mmfi_key k;
    mmfi_key_init(&k, key, strlen(key));
    uint64_t pos, slot;
    int present = 0;
    struct mmfi_view v = view();
    CU_ASSERT_EQUAL_FATAL(mmfi_find_for_write(&t, &v, &k, &pos, &slot, &present), MMFI_FOUND);
    struct mmf_slot_image img;
    memset(&img, 0, sizeof img);
    mmfi_publish(&t.slots[slot], &img, 0, &v, pos, MMF_ENTRY_TOMB);
    mmfi_trim_tombstones(&v, pos);
}

static void test_hash_avoids_reserved_values(void) {
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        CU_ASSERT(mmfi_hash(key, strlen(key)) >= MMF_HASH_KEY_MIN);
    }
}

static void test_put_get(void) {
    setup();
    char buf[256];
    mmfi_hit hit;
    uint64_t v = put("alpha", "one");
    CU_ASSERT(v > 0 && v % 2 == 0);
    CU_ASSERT_EQUAL(get("alpha", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_STRING_EQUAL(buf, "one");
    CU_ASSERT_EQUAL(hit.version, v);
    CU_ASSERT_EQUAL(get("beta", buf, sizeof buf, &hit), MMFI_MISSING);
    CU_ASSERT_EQUAL(get("alph", buf, sizeof buf, &hit), MMFI_MISSING);
    CU_ASSERT_EQUAL(lookup("alpha", buf, 2, &hit, NULL), MMFI_SMALL);
    CU_ASSERT_EQUAL(hit.len, 3);
}

static void test_long_keys_live_in_blocks(void) {
    setup();
    char key[MMF_KEY_MAX + 1], buf[64];
    memset(key, 'x', MMF_KEY_MAX);
    key[MMF_KEY_MAX] = '\0';
    put(key, "long");
    mmfi_hit hit;
    CU_ASSERT_EQUAL(get(key, buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_STRING_EQUAL(buf, "long");
    key[MMF_KEY_MAX - 1] = 'y'; /* same length, last byte differs */
    CU_ASSERT_EQUAL(get(key, buf, sizeof buf, &hit), MMFI_MISSING);
    uint64_t off[3];
    unsigned order[3];
    key[MMF_KEY_MAX - 1] = 'x';
    struct mmf_slot *s = &t.slots[hit.slot];
    CU_ASSERT_EQUAL(mmfi_slot_blocks(&t, s, load_relaxed(&s->vstate), off, order), 3);
}

static void test_tombstones_keep_probes_whole(void) {
    setup();
    char key[16], buf[64];
    mmfi_hit hit;
    for (int i = 0; i < 12; i++) {
        snprintf(key, sizeof key, "key%d", i);
        put_as(key, key, i % 2);
    }
    for (int i = 0; i < 12; i += 3) {
        snprintf(key, sizeof key, "key%d", i);
        del(key);
    }
    for (int i = 0; i < 12; i++) {
        snprintf(key, sizeof key, "key%d", i);
        int rc = get(key, buf, sizeof buf, &hit);
        if (i % 3 == 0) {
            CU_ASSERT_EQUAL(rc, MMFI_MISSING);
        } else {
            CU_ASSERT_EQUAL(rc, MMFI_FOUND);
            CU_ASSERT_STRING_EQUAL(buf, key);
        }
    }
    /* every tombstone left is followed by a used entry (or another tombstone) */
    for (uint64_t i = 0; i < CAP; i++)
        if (load_relaxed(&t.buf[0][i]) == MMF_ENTRY_TOMB)
            CU_ASSERT(load_relaxed(&t.buf[0][(i + 1) % CAP]) != MMF_ENTRY_EMPTY);
    /* deleting everything leaves no tombstone at all */
    for (int i = 0; i < 12; i++)
        if (i % 3) {
            snprintf(key, sizeof key, "key%d", i);
            del(key);
        }
    for (uint64_t i = 0; i < CAP; i++)
        CU_ASSERT_EQUAL(load_relaxed(&t.buf[0][i]), MMF_ENTRY_EMPTY);
}

static void test_full_table(void) {
    setup();
    char key[16];
    for (unsigned i = 0; i < CAP; i++) {
        snprintf(key, sizeof key, "full%u", i);
        put(key, "v");
    }
    uint64_t pos, slot;
    int present;
    struct mmfi_key more;
    mmfi_key_init(&more, "more", 4);
    struct mmfi_view v = view();
    CU_ASSERT_EQUAL(mmfi_find_for_write(&t, &v, &more, &pos, &slot, &present), MMFI_ENOSPC);
    char buf[8];
    mmfi_hit hit;
    CU_ASSERT_EQUAL(get("more", buf, sizeof buf, &hit), MMFI_MISSING); /* bounded probe */
}

static void test_inline_values(void) {
    setup();
    char buf[80];
    mmfi_hit hit;
    uint64_t v = put_as("small", "fits in the slot", 1);
    CU_ASSERT_EQUAL(get("small", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_STRING_EQUAL(buf, "fits in the slot");
    struct mmf_slot *s = &t.slots[hit.slot];
    CU_ASSERT_EQUAL(VS_ORDER(hit.vstate), MMF_ORDER_INLINE);
    struct mmfi_place place;
    CU_ASSERT(!mmfi_fits(&t, s, MMF_VALUE_INLINE + 1, &place));
    CU_ASSERT(mmfi_fits(&t, s, 0, &place));
    CU_ASSERT(mmfi_fits(&t, s, MMF_VALUE_INLINE, &place));
    char full[MMF_VALUE_INLINE + 1];
    memset(full, 'z', MMF_VALUE_INLINE);
    full[MMF_VALUE_INLINE] = '\0';
    CU_ASSERT_EQUAL(mmfi_write_inplace(s, &place, full, MMF_VALUE_INLINE, 0), v + 2);
    CU_ASSERT_EQUAL(get("small", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_STRING_EQUAL(buf, full);
    uint64_t off[3];
    unsigned order[3];
    /* no heap blocks */
    CU_ASSERT_EQUAL(mmfi_slot_blocks(&t, s, load_relaxed(&s->vstate), off, order), 0);
    store_relaxed(&s->vstate, VS_MAKE(MMF_VALUE_INLINE + 1, 0, 5, MMF_ORDER_INLINE));
    CU_ASSERT_EQUAL(get("small", buf, sizeof buf, &hit), MMFI_ECORRUPT);
}

static void test_entry_out_of_range_is_corrupt(void) {
    setup();
    put("k", "v");
    char buf[8];
    mmfi_hit hit;
    get("k", buf, sizeof buf, &hit);
    uint64_t h = mmfi_hash("k", 1);
    for (uint64_t p = 0; p < CAP; p++)
        if (ENTRY_LIVE(load_relaxed(&t.buf[0][p])))
            store_relaxed(&t.buf[0][p], ENTRY_MAKE(h, CAP + 5));
    CU_ASSERT_EQUAL(get("k", buf, sizeof buf, &hit), MMFI_ECORRUPT);
}

static void test_in_place_flip(void) {
    setup();
    char buf[300];
    mmfi_hit hit;
    uint64_t v1 = put("k", "first");
    get("k", buf, sizeof buf, &hit);
    struct mmf_slot *s = &t.slots[hit.slot];
    struct mmfi_place place;
    CU_ASSERT(!mmfi_fits(&t, s, 257, &place));
    CU_ASSERT(!mmfi_fits(&t, s, 0, &place)); /* an empty value gives its blocks back */
    CU_ASSERT(mmfi_fits(&t, s, 256, &place));
    uint64_t cur = VS_CUR(load_relaxed(&s->vstate));
    /* the write goes where mmfi_fits looked, whatever the slot says now */
    uint64_t spare = load_relaxed(&s->blk[!cur]);
    store_relaxed(&s->blk[!cur], 1ull << 40);
    uint64_t v2 = mmfi_write_inplace(s, &place, "second", 6, 0);
    store_relaxed(&s->blk[!cur], spare);
    CU_ASSERT_EQUAL(v2, v1 + 2);
    CU_ASSERT_EQUAL(VS_CUR(load_relaxed(&s->vstate)), !cur);
    CU_ASSERT_EQUAL(get("k", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_STRING_EQUAL(buf, "second");
    CU_ASSERT_EQUAL(hit.version, v2);
}

static void test_out_of_bounds_is_corrupt(void) {
    setup();
    char buf[64];
    mmfi_hit hit;
    put("k", "v");
    get("k", buf, sizeof buf, &hit);
    struct mmf_slot *s = &t.slots[hit.slot];
    uint64_t vs = load_relaxed(&s->vstate);
    store_relaxed(&s->blk[VS_CUR(vs)], HEAP_OFF + HEAP_SIZE - 1);
    CU_ASSERT_EQUAL(get("k", buf, sizeof buf, &hit), MMFI_ECORRUPT);
    store_relaxed(&s->blk[VS_CUR(vs)], 8); /* into the slot array */
    CU_ASSERT_EQUAL(get("k", buf, sizeof buf, &hit), MMFI_ECORRUPT);
    /* a walk too: also when the value is longer than its buffer */
    char key[MMF_KEY_LIMIT + 1];
    CU_ASSERT_EQUAL(mmfi_read_slot(&t, hit.slot, key, buf, sizeof buf, &hit, NULL), MMFI_ECORRUPT);
    CU_ASSERT_EQUAL(mmfi_read_slot(&t, hit.slot, key, NULL, 0, &hit, NULL), MMFI_ECORRUPT);
    uint64_t off[3];
    unsigned order[3];
    CU_ASSERT_EQUAL(mmfi_slot_blocks(&t, s, load_relaxed(&s->vstate), off, order), MMFI_ECORRUPT);
}

static int stall_answer;
static int stall_calls;
static int stall_fn(void *ctx, struct mmf_slot *s, uint64_t spins) {
    (void)ctx, (void)s, (void)spins;
    stall_calls++;
    return stall_answer;
}

static void test_stalled_slot(void) {
    setup();
    char buf[64];
    mmfi_hit hit;
    uint64_t v = put("k", "whole");
    get("k", buf, sizeof buf, &hit);
    struct mmf_slot *s = &t.slots[hit.slot];
    store_relaxed(&s->gen, v + 1); /* a writer died between its two gen stores */
    mmfi_stall st = {stall_fn, NULL};
    stall_answer = MMFI_STALL_READ_THROUGH;
    stall_calls = 0;
    CU_ASSERT_EQUAL(lookup("k", buf, sizeof buf, &hit, &st), MMFI_FOUND);
    CU_ASSERT_EQUAL(stall_calls, 1);
    CU_ASSERT_EQUAL(hit.version, v + 2);
    stall_answer = MMFI_ESTALL;
    CU_ASSERT_EQUAL(lookup("k", buf, sizeof buf, &hit, &st), MMFI_ESTALL);
    /* another key's odd slot does not stall a lookup that passes it */
    CU_ASSERT_EQUAL(get("other", buf, sizeof buf, &hit), MMFI_MISSING);
}

/* One writer publishes values whose bytes all equal a counter, in place;
   readers must never see a mix. Run under TSan too. */
#define VLEN 200
static atomic_int stop;
static struct mmf_slot *hot;

static void *writer(void *arg) {
    (void)arg;
    unsigned char val[VLEN];
    for (unsigned i = 1; i <= 200000 && !atomic_load(&stop); i++) {
        memset(val, (int)(i & 0xff), VLEN);
        size_t len = (i % 2) ? VLEN : VLEN / 2;
        struct mmfi_place place;
        if (mmfi_fits(&t, hot, len, &place)) mmfi_write_inplace(hot, &place, val, len, 0);
    }
    atomic_store(&stop, 1);
    return NULL;
}

static void *reader(void *arg) {
    long *torn = arg;
    unsigned char buf[VLEN];
    mmfi_hit hit;
    while (!atomic_load(&stop)) {
        if (lookup("hot", (char *)buf, sizeof buf, &hit, NULL) != MMFI_FOUND) {
            (*torn)++;
            continue;
        }
        for (size_t i = 1; i < hit.len; i++)
            if (buf[i] != buf[0]) {
                (*torn)++;
                break;
            }
    }
    return NULL;
}

static void test_concurrent_readers_never_see_a_torn_value(void) {
    setup();
    char val[VLEN + 1];
    memset(val, 0, sizeof val);
    memset(val, 1, VLEN);
    put("hot", val);
    char buf[VLEN + 1];
    mmfi_hit hit;
    get("hot", buf, sizeof buf, &hit);
    hot = &t.slots[hit.slot];
    atomic_store(&stop, 0);
    pthread_t w, r[2];
    long torn[2] = {0, 0};
    pthread_create(&r[0], NULL, reader, &torn[0]);
    pthread_create(&r[1], NULL, reader, &torn[1]);
    pthread_create(&w, NULL, writer, NULL);
    pthread_join(w, NULL);
    pthread_join(r[0], NULL);
    pthread_join(r[1], NULL);
    CU_ASSERT_EQUAL(torn[0] + torn[1], 0);
    CU_ASSERT_EQUAL(get("hot", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT(hit.len == VLEN || hit.len == VLEN / 2);
}

/* ---- growth and rebuilds ------------------------------------------------ */

static void test_refresh_follows_growth(void) {
    setup();
    put("k", "v");
    char buf[64];
    mmfi_hit hit;
    /* the namespace "grew" behind the table's back: an entry past the slots
       and a block past the heap it last saw are followed after a refresh */
    store_relaxed(&slots_committed, CAP / 2);
    store_relaxed(&heap_units, 0);
    store_relaxed(&t.nslots, 0);
    store_relaxed(&t.heap_hi, HEAP_OFF);
    CU_ASSERT_EQUAL(get("k", buf, sizeof buf, &hit), MMFI_ECORRUPT); /* counts too low */
    store_relaxed(&slots_committed, CAP);
    store_relaxed(&heap_units, HEAP_SIZE / MMFA_UNIT);
    CU_ASSERT_EQUAL(get("k", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_STRING_EQUAL(buf, "v");
    /* a count beyond the reserve is clamped to it, never followed */
    store_relaxed(&slots_committed, 1ull << 40);
    store_relaxed(&heap_units, 1ull << 40);
    mmfi_refresh(&t);
    CU_ASSERT_EQUAL(load_relaxed(&t.nslots), CAP);
    CU_ASSERT_EQUAL(load_relaxed(&t.heap_hi), HEAP_OFF + HEAP_SIZE);
    /* and the cache never goes down */
    store_relaxed(&slots_committed, 1);
    mmfi_refresh(&t);
    CU_ASSERT_EQUAL(load_relaxed(&t.nslots), CAP);
}

static uint64_t tombstones(const struct mmfi_view *v) {
    uint64_t n = 0;
    for (uint64_t p = 0; p <= v->mask; p++)
        n += load_relaxed(&v->entries[p]) == MMF_ENTRY_TOMB;
    return n;
}

static void test_rebuild_compacts_and_grows(void) {
    setup();
    char key[16], buf[64];
    mmfi_hit hit;
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        put_as(key, key, 1);
    }
    for (int i = 0; i < 8; i += 2) {
        snprintf(key, sizeof key, "key%d", i);
        del(key);
    }
    struct mmfi_view before = view();
    uint64_t live = 0;
    /* into buffer 1, four times larger */
    t.mask_max = 63;
    CU_ASSERT_EQUAL(mmfi_rebuild(&t, 6, &live), MMFI_FOUND);
    CU_ASSERT_EQUAL(live, 4);
    struct mmfi_view after = view();
    CU_ASSERT_EQUAL(after.mask, 63);
    CU_ASSERT_EQUAL(MMF_DESC_BUF(after.desc), 1);
    CU_ASSERT_EQUAL(MMF_DESC_GEN(after.desc), MMF_DESC_GEN(before.desc) + 1);
    CU_ASSERT_EQUAL(tombstones(&after), 0);
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "key%d", i);
        int rc = get(key, buf, sizeof buf, &hit);
        CU_ASSERT_EQUAL(rc, i % 2 ? MMFI_FOUND : MMFI_MISSING);
        if (rc == MMFI_FOUND) CU_ASSERT_STRING_EQUAL(buf, key);
    }
    /* back into buffer 0 (which holds 16 entries here), at 16 */
    del("key1");
    CU_ASSERT_EQUAL(mmfi_rebuild(&t, 4, &live), MMFI_FOUND);
    CU_ASSERT_EQUAL(live, 3);
    after = view();
    CU_ASSERT_EQUAL(after.mask, 15);
    CU_ASSERT_EQUAL(MMF_DESC_BUF(after.desc), 0);
    CU_ASSERT_EQUAL(tombstones(&after), 0);
    CU_ASSERT_EQUAL(get("key7", buf, sizeof buf, &hit), MMFI_FOUND);
    CU_ASSERT_EQUAL(get("key1", buf, sizeof buf, &hit), MMFI_MISSING);
    /* a capacity past the reserve, or a descriptor naming one, is refused */
    t.mask_max = 15;
    CU_ASSERT_EQUAL(mmfi_rebuild(&t, 5, &live), MMFI_ECORRUPT);
    store_relaxed(&desc, MMF_DESC_MAKE(9, 1, 7));
    CU_ASSERT(!mmfi_desc_ok(&t, load_relaxed(&desc)));
    CU_ASSERT_EQUAL(get("key7", buf, sizeof buf, &hit), MMFI_MISSING); /* probed within 16 */
}

static void test_rebuild_refuses_an_entry_its_slot_denies(void) {
    setup();
    put_as("a", "1", 1);
    char buf[8];
    mmfi_hit hit;
    get("a", buf, sizeof buf, &hit);
    store_relaxed(&t.slots[hit.slot].hash, MMF_HASH_EMPTY);
    uint64_t live, d = load_relaxed(&desc);
    CU_ASSERT_EQUAL(mmfi_rebuild(&t, 4, &live), MMFI_ECORRUPT);
    CU_ASSERT_EQUAL(load_relaxed(&desc), d); /* nothing published */
}

/* Readers look up keys that are always there while a writer churns other
   keys and rebuilds the index over and over, each buffer in turn: a reader
   that probed a buffer being refilled must look again, never answer "not
   found" for a key that was there all along. */
static atomic_int churn_done;
static void *steady_reader(void *arg) {
    uint64_t *wrong = arg;
    char key[16], buf[64];
    mmfi_hit hit;
    while (!atomic_load(&churn_done)) {
        for (int i = 0; i < 4; i++) {
            snprintf(key, sizeof key, "steady%d", i);
            if (get(key, buf, sizeof buf, &hit) != MMFI_FOUND || strcmp(buf, key)) ++*wrong;
        }
    }
    return NULL;
}

static void test_readers_never_miss_across_rebuilds(void) {
    setup();
    char key[32];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "steady%d", i);
        put_as(key, key, 1);
    }
    atomic_store(&churn_done, 0);
    uint64_t wrong[2] = {0, 0};
    pthread_t r[2];
    pthread_create(&r[0], NULL, steady_reader, &wrong[0]);
    pthread_create(&r[1], NULL, steady_reader, &wrong[1]);
    uint64_t live, rounds = (uint64_t)soak_count("MMF_SOAK_ROUNDS", 20000);
    for (uint64_t n = 0; n < rounds; n++) {
        /* churn: one key in and out, in a slot of its own past the steady ones */
        next_slot = 4 + n % 8;
        snprintf(key, sizeof key, "churn%llu", (unsigned long long)n);
        put_as(key, "x", 1);
        del(key);
        CU_ASSERT_EQUAL_FATAL(mmfi_rebuild(&t, 4, &live), MMFI_FOUND);
        CU_ASSERT_EQUAL(live, 4);
    }
    atomic_store(&churn_done, 1);
    pthread_join(r[0], NULL);
    pthread_join(r[1], NULL);
    CU_ASSERT_EQUAL(wrong[0] + wrong[1], 0);
}

static void test_probe_length(void) {
    setup();
    struct mmfi_key k;
    mmfi_key_init(&k, "absent", 6);
    CU_ASSERT_EQUAL(mmfi_probe_length(&t, &k), 1); /* the EMPTY entry it stops at */
    char key[16];
    for (int i = 0; i < 12; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put_as(key, "v", 1);
    }
    uint64_t n = mmfi_probe_length(&t, &k);
    CU_ASSERT(n >= 1 && n <= 13); /* at most the live entries, then EMPTY */
    mmfi_key_init(&k, "k3", 2);
    n = mmfi_probe_length(&t, &k);
    CU_ASSERT(n >= 1 && n <= 12);
}

int main(void) {
    static const test_case tests[] = {
        {"hash avoids the reserved values", test_hash_avoids_reserved_values},
        {"put and get", test_put_get},
        {"long keys live in key blocks", test_long_keys_live_in_blocks},
        {"tombstones keep probes whole, trailing ones are trimmed",
         test_tombstones_keep_probes_whole},
        {"a full table: insert refused, miss bounded", test_full_table},
        {"in-place write flips the spare block", test_in_place_flip},
        {"inline values live in the slot", test_inline_values},
        {"an entry naming a slot out of range is corrupt", test_entry_out_of_range_is_corrupt},
        {"offsets out of bounds are corrupt", test_out_of_bounds_is_corrupt},
        {"a stalled slot is read through or given up", test_stalled_slot},
        {"concurrent readers never see a torn value",
         test_concurrent_readers_never_see_a_torn_value},
        {"the table follows the namespace's growth, never past its reserve",
         test_refresh_follows_growth},
        {"a rebuild drops tombstones, keeps every key, grows", test_rebuild_compacts_and_grows},
        {"a rebuild refuses an entry its slot denies",
         test_rebuild_refuses_an_entry_its_slot_denies},
        {"readers never miss a key across rebuilds", test_readers_never_miss_across_rebuilds},
        {"probe length is counted", test_probe_length},
        {NULL, NULL}};
    int rc = run_suite("index", tests);
    free(region);
    return rc;
}
