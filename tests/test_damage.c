/*
 * Hand-made damaged images (the fuzzer's seed corpus, run as a plain test):
 * each is refused with MMF_ECORRUPT or MMF_EVERSION and left untouched, or
 * opens and then every operation on it ends in a clear error or a sane
 * answer -- never a crash or a hang (tests/fuzz/exercise.h). With
 * MMF_FUZZ_SEEDS=DIR in the environment the images are also written there.
 */
#include <glob.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../common/layout.h"
#include "../index/index.h"
#include "fuzz/exercise.h"
#include "testutil.h"

#define ANY (-100)

static uint8_t *good;
static size_t good_size;
static char path[128];

static struct mmf_header *hdr(uint8_t *img) {
    return (struct mmf_header *)img;
}

/* the index buffer in use, and its capacity */
static mmf_a64 *entries_of(uint8_t *img, uint64_t *cap) {
    struct mmf_header *h = hdr(img);
    uint64_t desc = load_relaxed(&h->index_desc);
    *cap = 1ull << MMF_DESC_LOG2CAP(desc);
    return (mmf_a64 *)(img + h->index_off[MMF_DESC_BUF(desc)]);
}

static struct mmf_slot *slot_of(uint8_t *img, const char *key) {
    struct mmf_header *h = hdr(img);
    uint64_t cap;
    mmf_a64 *entries = entries_of(img, &cap);
    uint64_t hash = mmfi_hash(key, strlen(key));
    for (uint64_t p = 0; p < cap; p++) {
        uint64_t e = load_relaxed(&entries[p]);
        if (ENTRY_LIVE(e) && ENTRY_TAG(e) == ENTRY_TAG(hash)) {
            struct mmf_slot *s = (struct mmf_slot *)(img + h->slots_off) + ENTRY_SLOT(e);
            if (load_relaxed(&s->hash) == hash) return s;
        }
    }
    CU_FAIL_FATAL("key not in the image");
    return NULL;
}

static mmf_a64 *entry_of(uint8_t *img, const char *key) {
    struct mmf_header *h = hdr(img);
    uint64_t cap;
    mmf_a64 *entries = entries_of(img, &cap);
    struct mmf_slot *s = slot_of(img, key);
    uint64_t idx = (uint64_t)(s - (struct mmf_slot *)(img + h->slots_off));
    for (uint64_t p = 0; p < cap; p++)
        if (ENTRY_LIVE(load_relaxed(&entries[p])) && ENTRY_SLOT(load_relaxed(&entries[p])) == idx)
            return &entries[p];
    return NULL;
}

#define LONG_KEY "a-key-of-a-long-name-that-lives-in-its-own-block-because-it-is-long"

static void make_good_image(void) {
    snprintf(path, sizeof path, "/dev/shm/mmf-damage.%d", (int)getpid());
    unlink(path);
    mmf_options o = MMF_OPTIONS_INIT;
    o.name = "damage";
    o.path = path;
    o.size = 64 << 10;
    o.max_size = o.size; /* the file is laid out for max_size: keep it small to copy */
    o.max_vars = 16;
    mmf *ns;
    CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
    char big[300];
    memset(big, 'b', sizeof big);
    mmf_set(ns, "k", "v", 1);
    mmf_set(ns, "inline", "forty bytes of value in the slot itself", 40);
    mmf_set(ns, "block", big, sizeof big);
    mmf_set(ns, LONG_KEY, "x", 1);
    mmf_add_i64(ns, "counter", 1, NULL);
    mmf_set(ns, "gone", big, 100);
    mmf_delete(ns, "gone");
    CU_ASSERT_EQUAL_FATAL(mmf_check(ns, NULL), MMF_OK);
    mmf_close(ns);
    FILE *f = fopen(path, "rb");
    struct stat st;
    stat(path, &st);
    good_size = (size_t)st.st_size;
    good = malloc(good_size);
    CU_ASSERT_EQUAL_FATAL(fread(good, 1, good_size, f), good_size);
    fclose(f);
}

struct damage {
    const char *name;
    void (*apply)(uint8_t *img, size_t *size);
    int open_rc;  /* what mmf_open must say, ANY = ok or a damage error */
    int check_rc; /* what mmf_check must say once open, ANY = either */
};

static void truncated(uint8_t *img, size_t *size) {
    (void)img, *size /= 2;
}
static void header_only(uint8_t *img, size_t *size) {
    (void)img, *size = 100;
}
static void bad_magic(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->magic ^= 1;
}
static void other_layout(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->layout_version = 99;
}
static void other_fingerprint(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->fingerprint++;
}
static void cap_not_pow2(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->index_cap_max = 12;
}
static void too_many_vars(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->slots_max = hdr(img)->index_cap_max + 1;
}
static void slots_misaligned(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->slots_off += 8;
}
static void slots_past_end(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->slots_off = 1ull << 40;
}
static void heap_past_end(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->heap.geo.units = 1ull << 30;
}
static void not_ready(uint8_t *img, size_t *size) {
    (void)size, store32_relaxed(&hdr(img)->ready, 0);
}
static void name_unterminated(uint8_t *img, size_t *size) {
    (void)size, memset(hdr(img)->name, 'n', sizeof hdr(img)->name);
}
static void mutex_of_another_kind(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->mutex.__data.__kind ^= 0x20; /* e.g. priority-inheritance */
}
static void block_past_end(uint8_t *img, size_t *size) {
    struct mmf_slot *s = slot_of(img, "block");
    store_relaxed(&s->blk[VS_CUR(load_relaxed(&s->vstate))], *size + 4096);
}
static void block_in_header(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_slot *s = slot_of(img, "block");
    store_relaxed(&s->blk[VS_CUR(load_relaxed(&s->vstate))], 64);
}
static void free_list_loops(uint8_t *img, size_t *size) {
    (void)size;
    struct mmfa_heap *h = &hdr(img)->heap;
    for (unsigned k = 0; k < MMFA_ORDERS; k++) {
        uint64_t head = load_relaxed(&h->free_head[k]);
        if (head) {
            store_relaxed(&((struct mmfa_free_block *)(img + head))->next, head);
            return;
        }
    }
}
static void free_head_wild(uint8_t *img, size_t *size) {
    struct mmfa_heap *h = &hdr(img)->heap;
    for (unsigned k = 0; k < MMFA_ORDERS; k++)
        store_relaxed(&h->free_head[k], *size * 3 + k);
}
static void entry_slot_out_of_range(uint8_t *img, size_t *size) {
    (void)size;
    mmf_a64 *e = entry_of(img, "k");
    store_relaxed(e, ENTRY_MAKE(mmfi_hash("k", 1), hdr(img)->slots_max + 3));
}
static void entries_name_one_slot_twice(uint8_t *img, size_t *size) {
    (void)size;
    store_relaxed(entry_of(img, "k"), load_relaxed(entry_of(img, "inline")));
}
static void key_block_out_of_bounds(uint8_t *img, size_t *size) {
    store_relaxed(&slot_of(img, LONG_KEY)->key_off, *size - 8);
}
static void inline_length_too_long(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_slot *s = slot_of(img, "inline");
    uint64_t vs = load_relaxed(&s->vstate);
    store_relaxed(&s->vstate, VS_MAKE(1000, VS_CUR(vs), VS_KLEN(vs), MMF_ORDER_INLINE));
}
static void block_order_wild(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_slot *s = slot_of(img, "block");
    uint64_t vs = load_relaxed(&s->vstate);
    store_relaxed(&s->vstate, VS_MAKE(VS_LEN(vs), VS_CUR(vs), VS_KLEN(vs), 60));
}
static void odd_gen_nobody_writing(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_slot *s = slot_of(img, "inline");
    store_relaxed(&s->gen, load_relaxed(&s->gen) | 1);
}
static void claimed_by_dead_writer(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_slot *s = slot_of(img, "inline");
    store_relaxed(&s->gen, load_relaxed(&s->gen) | 1);
    store_relaxed(&s->owner, 0x7ffffffeull | (12345ull << 32)); /* no such process */
}
static void slot_chain_names_live_slot(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_header *h = hdr(img);
    struct mmf_slot *s = slot_of(img, "k");
    uint64_t idx = (uint64_t)(s - (struct mmf_slot *)(img + h->slots_off));
    store_relaxed(&h->slot_free, idx + 1);
    s->next_free = (uint32_t)idx + 1; /* and loops */
}
static void free_chain_loops(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_header *h = hdr(img);
    uint64_t idx = load_relaxed(&h->slots_used); /* the first slot never handed out */
    struct mmf_slot *s = (struct mmf_slot *)(img + h->slots_off) + idx;
    store_relaxed(&h->slot_free, idx + 1);
    s->next_free = (uint32_t)idx + 1;          /* to itself */
    store_relaxed(&h->slots_used, 1ull << 62); /* and a count that would let it run on */
}
static void slots_used_too_big(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->slots_used, 1u << 30);
}
static void meta_byte_damaged(uint8_t *img, size_t *size) {
    (void)size, img[hdr(img)->heap.geo.meta_off + 1] = 0x3f;
}
static void counters_wrong(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->vars, 999);
}
static void owner_died_with_garbage_intent(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_header *h = hdr(img);
    h->mutex.__data.__lock = 0x40000000; /* FUTEX_OWNER_DIED: the next locker recovers */
    store_relaxed(&h->intent.state, MMF_INTENT_READY);
    h->intent.slot = 1u << 20;
}
static void owner_died_with_intent_out_of_bounds(uint8_t *img, size_t *size) {
    struct mmf_header *h = hdr(img);
    h->mutex.__data.__lock = 0x40000000;
    store_relaxed(&h->intent.state, MMF_INTENT_READY);
    h->intent.slot = 0;
    h->intent.entry_pos = 3;
    h->intent.img.hash = 77;
    h->intent.img.vstate = VS_MAKE(100, 0, 3, 2);
    h->intent.img.blk[0] = *size + 64;
}
static void all_entries_tombstones(uint8_t *img, size_t *size) {
    (void)size;
    uint64_t cap;
    mmf_a64 *entries = entries_of(img, &cap);
    for (uint64_t p = 0; p < cap; p++)
        store_relaxed(&entries[p], MMF_ENTRY_TOMB);
}
static void index_garbage(uint8_t *img, size_t *size) {
    (void)size;
    uint64_t cap;
    uint8_t *entries = (uint8_t *)entries_of(img, &cap);
    for (uint64_t i = 0; i < cap * 8; i++)
        entries[i] = (uint8_t)(i * 131 + 7);
}
/* the committed counts and the index descriptor: state that a growth
   rewrites, so read again after attach, and checked each time */
static void set_desc(uint8_t *img, unsigned log2cap) {
    struct mmf_header *h = hdr(img);
    uint64_t d = load_relaxed(&h->index_desc);
    store_relaxed(&h->index_desc, MMF_DESC_MAKE(MMF_DESC_GEN(d), MMF_DESC_BUF(d), log2cap));
}
static void desc_cap_above_reserve(uint8_t *img, size_t *size) {
    (void)size;
    unsigned lg = 0;
    while ((1ull << lg) < hdr(img)->index_cap_max)
        lg++;
    set_desc(img, lg + 1);
}
static void desc_cap_far_above_reserve(uint8_t *img, size_t *size) {
    (void)size, set_desc(img, 63);
}
static void desc_cap_below_8(uint8_t *img, size_t *size) {
    (void)size, set_desc(img, 2);
}
static void desc_cap_zero(uint8_t *img, size_t *size) {
    (void)size, set_desc(img, 0);
}
static void index_past_committed(uint8_t *img, size_t *size) {
    /* the index in use reaches past the bytes committed for its buffer */
    (void)size;
    struct mmf_header *h = hdr(img);
    store_relaxed(&h->index_committed[MMF_DESC_BUF(load_relaxed(&h->index_desc))], 0);
}
static void desc_names_uncommitted_buffer(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_header *h = hdr(img);
    uint64_t d = load_relaxed(&h->index_desc);
    store_relaxed(&h->index_desc,
                  MMF_DESC_MAKE(MMF_DESC_GEN(d) + 1, !MMF_DESC_BUF(d), MMF_DESC_LOG2CAP(d)));
}
static void slots_committed_above_max(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->slots_committed, hdr(img)->slots_max + 16ull);
}
static void slots_committed_huge(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->slots_committed, 1ull << 62);
}
static void slots_committed_zero(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->slots_committed, 0);
}
static void heap_committed_above_reserve(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->heap.committed, hdr(img)->heap.geo.units + 1);
}
static void heap_committed_zero(uint8_t *img, size_t *size) {
    (void)size, store_relaxed(&hdr(img)->heap.committed, 0);
}
static void index_committed_above_reserve(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_header *h = hdr(img);
    store_relaxed(&h->index_committed[0], (uint64_t)h->index_cap_max * 8 + 4096);
    store_relaxed(&h->index_committed[1], 1ull << 60);
}
static void index_buffer_1_misplaced(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->index_off[1] += 4096;
}
static void index_buffer_0_misplaced(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->index_off[0] += 4096;
}
static void max_size_wild(uint8_t *img, size_t *size) {
    (void)size, hdr(img)->max_size = 1ull << 60;
}

static void slots_garbage(uint8_t *img, size_t *size) {
    (void)size;
    struct mmf_header *h = hdr(img);
    for (uint64_t i = 0; i < load_relaxed(&h->slots_committed) * MMF_SLOT_SIZE; i++)
        img[h->slots_off + i] = (uint8_t)(i * 97 + 3);
}

static const struct damage damages[] = {
    {"truncated file", truncated, MMF_ECORRUPT, ANY},
    {"shorter than a header", header_only, MMF_ECORRUPT, ANY},
    {"bad magic", bad_magic, MMF_ECORRUPT, ANY},
    {"another layout version", other_layout, MMF_EVERSION, ANY},
    {"another layout fingerprint", other_fingerprint, MMF_EVERSION, ANY},
    {"index capacity not a power of two", cap_not_pow2, MMF_ECORRUPT, ANY},
    {"more variables than entries", too_many_vars, MMF_ECORRUPT, ANY},
    {"slots misaligned", slots_misaligned, MMF_ECORRUPT, ANY},
    {"slots past the end", slots_past_end, MMF_ECORRUPT, ANY},
    {"heap past the end", heap_past_end, MMF_ECORRUPT, ANY},
    {"not marked ready", not_ready, MMF_ECORRUPT, ANY},
    {"name not terminated", name_unterminated, MMF_ECORRUPT, ANY},
    {"a mutex of another kind", mutex_of_another_kind, MMF_ECORRUPT, ANY},
    {"a value block past the end", block_past_end, MMF_OK, MMF_ECORRUPT},
    {"a slot pointing into the header", block_in_header, MMF_OK, MMF_ECORRUPT},
    {"a free list that loops", free_list_loops, MMF_OK, MMF_ECORRUPT},
    {"free lists pointing outside", free_head_wild, MMF_OK, MMF_ECORRUPT},
    {"an entry naming a slot out of range", entry_slot_out_of_range, MMF_OK, MMF_ECORRUPT},
    {"two entries naming one slot", entries_name_one_slot_twice, MMF_OK, MMF_ECORRUPT},
    {"a key block out of bounds", key_block_out_of_bounds, MMF_OK, MMF_ECORRUPT},
    {"an inline value longer than its buffer", inline_length_too_long, MMF_OK, MMF_ECORRUPT},
    {"a block order that cannot be", block_order_wild, MMF_OK, MMF_ECORRUPT},
    {"an odd generation nobody writes", odd_gen_nobody_writing, MMF_OK, MMF_ECORRUPT},
    {"a slot claimed by a dead writer", claimed_by_dead_writer, MMF_OK, MMF_OK},
    {"the free-slot chain naming a live slot", slot_chain_names_live_slot, MMF_OK, MMF_ECORRUPT},
    {"more slots used than exist", slots_used_too_big, MMF_OK, MMF_ECORRUPT},
    {"a free-slot chain that loops, under a huge count", free_chain_loops, MMF_OK, MMF_ECORRUPT},
    {"a heap meta byte damaged", meta_byte_damaged, MMF_OK, MMF_ECORRUPT},
    {"counters wrong", counters_wrong, MMF_OK, MMF_ECORRUPT},
    {"a dead lock holder, intent naming no slot", owner_died_with_garbage_intent, MMF_OK, ANY},
    {"a dead lock holder, intent out of bounds", owner_died_with_intent_out_of_bounds, MMF_OK, ANY},
    {"every entry a tombstone", all_entries_tombstones, MMF_OK, ANY},
    {"garbage over the index", index_garbage, MMF_OK, ANY},
    {"garbage over the slots", slots_garbage, MMF_OK, ANY},
    {"an index capacity above the reserve", desc_cap_above_reserve, MMF_OK, MMF_ECORRUPT},
    {"an index capacity of 2^63", desc_cap_far_above_reserve, MMF_OK, MMF_ECORRUPT},
    {"an index capacity below 8", desc_cap_below_8, MMF_OK, MMF_ECORRUPT},
    {"an index capacity of 1", desc_cap_zero, MMF_OK, MMF_ECORRUPT},
    {"the index in use past its committed bytes", index_past_committed, MMF_OK, MMF_ECORRUPT},
    {"the index in a buffer never committed", desc_names_uncommitted_buffer, MMF_OK, MMF_ECORRUPT},
    {"more slots committed than the reserve", slots_committed_above_max, MMF_ECORRUPT, ANY},
    {"2^62 slots committed", slots_committed_huge, MMF_ECORRUPT, ANY},
    {"no slots committed", slots_committed_zero, MMF_OK, MMF_ECORRUPT},
    {"more heap committed than the reserve", heap_committed_above_reserve, MMF_ECORRUPT, ANY},
    {"no heap committed", heap_committed_zero, MMF_ECORRUPT, ANY},
    {"more index committed than the reserve", index_committed_above_reserve, MMF_OK, MMF_ECORRUPT},
    {"index buffer 1 not right after buffer 0", index_buffer_1_misplaced, MMF_ECORRUPT, ANY},
    {"index buffer 0 not where the layout puts it", index_buffer_0_misplaced, MMF_ECORRUPT, ANY},
    {"a max_size past any file", max_size_wild, MMF_ECORRUPT, ANY},
};

static void save_seed(const char *dir, int i, const uint8_t *img, size_t size) {
    char p[512];
    snprintf(p, sizeof p, "%s/damage-%02d", dir, i);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(img, 1, size, f);
        fclose(f);
    }
}

static void test_damaged_images(void) {
    make_good_image();
    const char *seeds = getenv("MMF_FUZZ_SEEDS");
    if (seeds) save_seed(seeds, 99, good, good_size);
    uint8_t *img = malloc(good_size);
    for (size_t i = 0; i < sizeof damages / sizeof *damages; i++) {
        const struct damage *d = &damages[i];
        memcpy(img, good, good_size);
        size_t size = good_size;
        d->apply(img, &size);
        if (seeds) save_seed(seeds, (int)i, img, size);
        /* the expected answers */
        FILE *f = fopen(path, "wb");
        fwrite(img, 1, size, f);
        fclose(f);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = "damage";
        o.path = path;
        o.reuse = true;
        o.timeout = 0.05;
        mmf *ns;
        int rc = mmf_open(&o, &ns);
        int check = ANY;
        if (rc == MMF_OK) {
            check = mmf_check(ns, NULL);
            mmf_close(ns);
        }
        int ok_open = d->open_rc == ANY || rc == d->open_rc;
        int ok_check = d->check_rc == ANY || rc != MMF_OK || check == d->check_rc;
        if (getenv("MMF_DAMAGE_VERBOSE"))
            fprintf(stderr, "\n  %s: open %s, check %s", d->name, mmf_strerror(rc),
                    rc ? "-" : mmf_strerror(check));
        if (!ok_open || !ok_check)
            fprintf(stderr, "\n  %s: open %s, check %s", d->name, mmf_strerror(rc),
                    rc ? "-" : mmf_strerror(check));
        CU_ASSERT(ok_open);
        CU_ASSERT(ok_check);
        /* and the property, from the untouched damaged image again */
        int bad = 0, open_rc = 0;
        const char *why = exercise_image(path, img, size, &bad, &open_rc);
        if (why) fprintf(stderr, "\n  %s: %s (%s)", d->name, why, mmf_strerror(bad));
        CU_ASSERT_PTR_NULL(why);
    }
    int bad = 0, open_rc = 0; /* the good image passes everything */
    CU_ASSERT_PTR_NULL(exercise_image(path, good, good_size, &bad, &open_rc));
    CU_ASSERT_EQUAL(open_rc, MMF_OK);
    free(img);
    free(good);
    unlink(path);
}

/* Inputs the fuzzer once broke the property with, kept as regressions. */
static void test_fuzzer_regressions(void) {
    snprintf(path, sizeof path, "/dev/shm/mmf-damage.%d", (int)getpid());
    glob_t found;
    CU_ASSERT_EQUAL_FATAL(glob(MMF_FUZZ_REGRESSIONS "/*", 0, NULL, &found), 0);
    for (size_t i = 0; i < found.gl_pathc; i++) {
        FILE *f = fopen(found.gl_pathv[i], "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        int bad = 0, open_rc = 0;
        const char *why = exercise_image(path, buf, n, &bad, &open_rc);
        if (why) fprintf(stderr, "\n  %s: %s (%s)", found.gl_pathv[i], why, mmf_strerror(bad));
        CU_ASSERT_PTR_NULL(why);
    }
    printf("\n  %zu regression inputs", found.gl_pathc);
    globfree(&found);
    unlink(path);
}

static int count_visit(const char *key, const void *val, size_t len, uint64_t version, void *ctx) {
    (void)key, (void)val, (void)len, (void)version;
    ++*(int *)ctx;
    return 0;
}

/* Every public operation on a handle whose header was rewritten after it
   attached. The handle works from the geometry it validated at attach, so
   the operations still work; run in a child that must exit, not die. */
static void hostile_child(mmf *ns) {
    alarm(60); /* a hang fails as a signal too */
    static char big[4096], mid[200], buf[8192];
    memset(big, 'B', sizeof big);
    memset(mid, 'M', sizeof mid);
    size_t len;
    uint64_t v;
    int64_t sum;
    int n = 0;
    CHILD_REQUIRE(mmf_set(ns, "small", "tiny", 4) == MMF_OK);
    CHILD_REQUIRE(mmf_set(ns, "mid", mid, sizeof mid) == MMF_OK);
    CHILD_REQUIRE(mmf_set(ns, "big", big, sizeof big) == MMF_OK);
    CHILD_REQUIRE(mmf_set(ns, "new.mid", mid, sizeof mid) == MMF_OK);
    CHILD_REQUIRE(mmf_get(ns, "mid", buf, sizeof buf, &len) == MMF_OK && len == sizeof mid &&
                  memcmp(buf, mid, len) == 0);
    CHILD_REQUIRE(mmf_get_v(ns, "big", buf, sizeof buf, &len, &v) == MMF_OK && len == sizeof big &&
                  memcmp(buf, big, len) == 0);
    CHILD_REQUIRE(mmf_exists(ns, "small") == 1);
    CHILD_REQUIRE(mmf_cas(ns, "big", v, mid, sizeof mid) == MMF_OK);
    CHILD_REQUIRE(mmf_add_i64(ns, "counter", 5, &sum) == MMF_OK && sum == 6);
    CHILD_REQUIRE(mmf_delete(ns, "mid") == MMF_OK);
    CHILD_REQUIRE(mmf_exists(ns, "mid") == 0);
    CHILD_REQUIRE(mmf_foreach(ns, count_visit, &n) == MMF_OK && n == 5);
    mmf_stats st;
    CHILD_REQUIRE(mmf_stat(ns, &st) == MMF_OK && st.size == 1 << 20 && st.max_vars == 64);
    FILE *null = fopen("/dev/null", "w");
    CHILD_REQUIRE(null && mmf_dump(ns, null) == MMF_OK);
    fclose(null);
    CHILD_REQUIRE(mmf_check(ns, NULL) == MMF_OK);
    (void)mmf_wait(ns, "small", 1, 0.001); /* any answer; it returns */
    mmf_close(ns);
    _exit(0);
}

/* As in the report: only the heap's meta offset, far outside the mapping. */
static void hostile_meta_off(struct mmf_header *h) {
    h->heap.geo.meta_off = 1ull << 40;
}

/* Every geometry field the header has. */
static void hostile_everything(struct mmf_header *h) {
    h->heap.geo.meta_off = 1ull << 40;
    h->heap.geo.arena_off = (1ull << 20) + 4096;
    h->heap.geo.units = 1ull << 50;
    h->heap.geo.max_order = 39;
    h->index_off[0] = 1ull << 41;
    h->index_off[1] = 1ull << 42;
    h->index_cap_max = 1u << 30;
    h->slots_max = MMF_MAX_VARS;
    h->slots_off = (1ull << 40) + 8;
    h->map_size = 1ull << 45;
    h->max_size = 1ull << 50;
    memset(h->name, 'n', sizeof h->name); /* no terminating NUL any more */
}

static void hostile_case(void (*damage)(struct mmf_header *)) {
    char name[64];
    mmf *ns = fresh(unique_name(name, sizeof name, "hostile"), 1 << 20, 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
    CU_ASSERT_EQUAL(mmf_set(ns, "small", "s", 1), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, "counter", &(int64_t){1}, 8), MMF_OK);
    CU_ASSERT_EQUAL(mmf_set(ns, LONG_KEY, "x", 1), MMF_OK);
    /* another process with write access rewrites the header */
    char shm[128];
    snprintf(shm, sizeof shm, "/dev/shm/%s", name);
    int fd = open(shm, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    struct mmf_header *h = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CU_ASSERT_FATAL(h != MAP_FAILED);
    damage(h);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) hostile_child(ns);
    int status = wait_child(pid);
    if (status)
        fprintf(stderr, "\n  the child %s %d", status > 100 ? "died of signal" : "exited",
                status > 100 ? status - 100 : status);
    CU_ASSERT_EQUAL(status, 0);
    munmap(h, 1 << 20);
    mmf_close(ns);
    mmf_unlink(name, NULL);
}

static void test_hostile_geometry_after_attach(void) {
    hostile_case(hostile_meta_off);
    hostile_case(hostile_everything);
}

int main(void) {
    static const test_case tests[] = {
        {"damaged images", test_damaged_images},
        {"the fuzzer's regressions", test_fuzzer_regressions},
        {"hostile geometry after attach", test_hostile_geometry_after_attach},
        {NULL, NULL}};
    return run_suite("damage", tests);
}
