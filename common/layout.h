/*
 * Every structure that lives in the mapping, in one place.
 *
 * The mapping is addressed by offsets from its first byte, never by pointers:
 * each process maps it at another address. Offset 0 (the header) is never a
 * block, so 0 doubles as "none".
 *
 *   [ header 4 KiB | registrations: 1024 x 16 B | index buffer 0 | index
 *     buffer 1 | slots | heap meta | heap ]
 *
 * Growth: every region is laid out at creation for the most it may ever
 * hold (max_size), and the file is that long but sparse. Only a prefix of
 * each region is committed (posix_fallocate) and published in the header;
 * growing commits more, under the mutex, before publishing the new count.
 * Every process maps the whole file at attach, so its base never moves and
 * a reader needs no remapping: it only ever follows offsets below the
 * published counts, and never touches a page that was not committed.
 *
 * The index has two buffers: a rebuild (growth, or compaction of
 * tombstones) fills the one not in use and publishes it with one store of
 * index_desc, which also carries a generation that a reader re-checks
 * before it answers "not found".
 *
 * The index is dense on purpose: a probe walks 8-byte entries (a 2 MiB
 * index serves a million variables from cache), and only the entry that
 * matches leads to the variable's slot, one random access.
 *
 * Only this file decides sizes and offsets; the _Static_asserts below pin
 * them, and mmf__layout_fingerprint folds them into the header so that two
 * builds with different layouts refuse each other (MMF_EVERSION).
 */
#ifndef MMF_COMMON_LAYOUT_H
#define MMF_COMMON_LAYOUT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define MMF_CACHE_LINE 64
#define MMF_MAGIC 0x31464d4d2e666d6dULL /* "mmf.MMF1" */
#define MMF_LAYOUT_VERSION 4u
#define MMF_HEADER_SIZE 4096u

/* ---- slots (index/) ---------------------------------------------------- */

#define MMF_SLOT_SIZE 256u
#define MMF_KEY_LIMIT 255u   /* longest key: its length fits vstate's 8 bits */
#define MMF_KEY_INLINE 56u   /* keys up to this long live in the slot itself */
#define MMF_VALUE_INLINE 64u /* values up to this long too, double-buffered */
#define MMF_HASH_EMPTY 0u    /* a slot that holds no variable */
#define MMF_HASH_KEY_MIN 2u  /* a key's hash is at least this: 0 and 1 are moved off */

/*
 * Index entry: 0 EMPTY (a probe for a missing key stops here), 1 TOMBSTONE
 * (was used: probes go on past it), else the top 40 bits of the key's hash
 * (its tag, with bit 24 forced on so it is never 0 or 1) over the index of
 * the variable's slot in bits 0..23.
 */
#define MMF_ENTRY_EMPTY 0u
#define MMF_ENTRY_TOMB 1u
#define MMF_SLOT_BITS 24u
#define MMF_MAX_VARS ((1u << MMF_SLOT_BITS) - 1u)
#define ENTRY_TAG(h) (((h) | (1ull << MMF_SLOT_BITS)) & ~((1ull << MMF_SLOT_BITS) - 1u))
#define ENTRY_MAKE(h, slot) (ENTRY_TAG(h) | (uint64_t)(slot))
#define ENTRY_SLOT(e) ((uint64_t)(e) & ((1ull << MMF_SLOT_BITS) - 1u))
#define ENTRY_LIVE(e) ((e) > MMF_ENTRY_TOMB)

/*
 * vstate packs what must change together into one word, so that a reader
 * (and crash recovery) sees all of it or none of it:
 *   bits  0..31  value length
 *   bit  32      which buffer holds the current value: blk[i] or ival[i]
 *   bits 40..47  key length (1..255)
 *   bits 48..55  buddy order of both value blocks; MMF_ORDER_INLINE for a
 *                value in the slot's ival buffers; MMF_ORDER_NONE for none
 *   bits 56..63  the value's tag (mmf_set_tagged), 0 for plain bytes
 */
#define MMF_ORDER_NONE 0xffu
#define MMF_ORDER_INLINE 0xfeu
#define VS_LEN(v) ((uint32_t)((v)&0xffffffffu))
#define VS_CUR(v) ((unsigned)(((v) >> 32) & 1u))
#define VS_KLEN(v) ((unsigned)(((v) >> 40) & 0xffu))
#define VS_ORDER(v) ((unsigned)(((v) >> 48) & 0xffu))
#define VS_TAG(v) ((unsigned)(((v) >> 56) & 0xffu))
#define VS_WITH_TAG(v, tag) (((v)&0x00ffffffffffffffull) | ((uint64_t)((tag)&0xffu) << 56))
#define VS_MAKE(len, cur, klen, order)                                                             \
    ((uint64_t)(uint32_t)(len) | ((uint64_t)((cur)&1u) << 32) | ((uint64_t)((klen)&0xffu) << 40) | \
     ((uint64_t)((order)&0xffu) << 48))

/*
 * Registrations (core/registry.c): every read-write handle holds an
 * open-file-description lock (F_OFD_SETLK) on one byte of the namespace file
 * past any data, MMF_REG_LOCK_BASE + its index here, for as long as it is
 * open. The kernel drops the lock when the last descriptor of it closes, so
 * at the latest when the process dies, before it is a zombie and whatever
 * PID namespace it lives in. An entry's incarnation grows at every new
 * registration, so that a token of a registrant long gone never names its
 * successor.
 */
#define MMF_REGS 1024u
#define MMF_REGS_OFF MMF_HEADER_SIZE
#define MMF_REG_LOCK_BASE (1ull << 62)           /* byte of registration i: base + i */
#define MMF_READERS_LOCK (MMF_REG_LOCK_BASE - 1) /* shared by read-only handles */
struct mmf_reg {
    mmf_a32 incarnation;
    mmf_a32 pid;   /* as the registrant saw it, for mmf stat */
    mmf_a32 start; /* low 32 bits of its start time (clock ticks), 0 = unknown */
    mmf_a32 pidns; /* inode of its PID namespace, 0 = unknown */
};
_Static_assert(sizeof(struct mmf_reg) == 16, "registration entry");
#define MMF_REGS_SIZE (MMF_REGS * 16u)
#define MMF_INDEX_OFF (MMF_REGS_OFF + MMF_REGS_SIZE)

/*
 * Claim word (a slot's owner, the explicit lock's holder): the writer's
 * registration token, never 0. Bits 0..15 are the registration index + 1,
 * bit 31 is set for a structural writer (which holds the namespace mutex),
 * bits 32..63 are the registration's incarnation.
 */
#define MMF_OWNER_STRUCT 0x80000000ull
#define TOKEN_MAKE(idx, inc) ((uint64_t)(inc) << 32 | (uint64_t)((idx) + 1u))
#define TOKEN_REG(t) ((uint32_t)((t)&0xffffu)) /* index + 1; 0 names none */
#define TOKEN_INC(t) ((uint32_t)((t) >> 32))
#define TOKEN_SAME_REG(a, b) ((((a) ^ (b)) & 0xffffffff0000ffffull) == 0)

/*
 * Four cache lines. A get of a key up to 24 bytes with a value up to 64
 * reads line 0 and one of lines 2-3: one page, no second random access; a
 * get through a handle (gen, incarnation, vstate, value) reads the same.
 *
 * incarnation names who lives in the slot: MMF_INC_MAKE(count, slot), a
 * count of the times the slot was freed or taken by a new variable over the
 * slot's own index + 1 (0 only in a slot never used). It changes inside a
 * structural write of the slot, under the mutex, so a reader validates it
 * with gen like any field. A handle (core/var.c) remembers the word it
 * resolved its key to: while the slot shows that word, it holds the same
 * variable; and the word also says which slot that is. The count is never
 * reset, so a slot shows a word again only after 2^40 frees and reuses.
 */
#define MMF_INC_MAKE(count, slot) ((uint64_t)(count) << MMF_SLOT_BITS | ((uint64_t)(slot) + 1u))
#define MMF_INC_COUNT(inc) ((uint64_t)(inc) >> MMF_SLOT_BITS)
#define MMF_INC_SLOT(inc) (((uint64_t)(inc) & ((1ull << MMF_SLOT_BITS) - 1u)) - 1u)
struct mmf_slot {
    /* line 0 */
    mmf_a64 gen;         /* seqlock generation: odd while a write is under way; the version */
    mmf_a64 hash;        /* XXH3 of the key (>= MMF_HASH_KEY_MIN), or MMF_HASH_EMPTY */
    mmf_a64 vstate;      /* see VS_* */
    mmf_a64 owner;       /* claim word, 0 = free */
    mmf_a64 incarnation; /* see above */
    mmf_a64 key[7];      /* key bytes when klen <= MMF_KEY_INLINE; 3 words on line 0 */
    /* line 1, rest */
    mmf_a64 blk[2];     /* offsets of the two value blocks (block values only) */
    mmf_a64 key_off;    /* key block when klen > MMF_KEY_INLINE */
    mmf_a32 waiters;    /* 1 once an mmf_wait may sleep on gen; the next writer clears it */
    uint32_t next_free; /* free slots: the next free slot + 1, 0 = none (mutex held) */
    /* lines 2 and 3: the two buffers of an inline value */
    mmf_a64 ival[2][MMF_VALUE_INLINE / 8];
};
_Static_assert(sizeof(struct mmf_slot) == MMF_SLOT_SIZE, "slot is four cache lines");
_Static_assert(offsetof(struct mmf_slot, incarnation) == 32, "incarnation on line 0");
_Static_assert(offsetof(struct mmf_slot, key) == 40, "short keys start on line 0");
_Static_assert(MMF_KEY_INLINE == sizeof(((struct mmf_slot *)0)->key), "inline keys fill key[]");
_Static_assert(offsetof(struct mmf_slot, blk) == 96, "slot layout");
_Static_assert(offsetof(struct mmf_slot, waiters) == 120, "slot layout");
_Static_assert(offsetof(struct mmf_slot, ival) == 128, "inline values on their own lines");

/* What a structural change writes into a slot, recorded whole before it
   starts so that recovery can finish it. An inline value goes in ival;
   hash MMF_HASH_EMPTY makes the slot free. */
struct mmf_slot_image {
    uint64_t hash, vstate, incarnation, blk[2], key[7], key_off;
    uint64_t ival[MMF_VALUE_INLINE / 8];
};

/* ---- heap (alloc/) ----------------------------------------------------- */

#define MMFA_UNIT_SHIFT 6u /* smallest block: 64 bytes, one cache line */
#define MMFA_UNIT (1u << MMFA_UNIT_SHIFT)
#define MMFA_ORDERS 40u /* orders 0..39: 64 B .. 32 TiB */

/* meta byte per unit: the first unit of every block says what it is */
#define MMFA_META_ALLOC(order) ((uint8_t)((order) + 1u))
#define MMFA_META_FREE(order) ((uint8_t)(0x80u | ((order) + 1u)))
#define MMFA_META_COVERED 0x40u /* scratch during a rebuild: inside a live block */

/*
 * The heap is planned for a reserve and committed in a prefix. The reserve
 * (struct mmfa_geometry, units) is the most the heap can ever hold: meta
 * bytes [meta_off, meta_off + units) and arena [arena_off, arena_off +
 * units * MMFA_UNIT), all mapped by every process. Only the first
 * `committed` units (struct mmfa_heap) exist in the file, with their meta
 * bytes; the rest is a hole that nobody touches, not even to read it (on a
 * full tmpfs a touch is a SIGBUS). Growing raises `committed`.
 */

/* Written at creation, read-only after. A process reads it from the mapping
   once, at attach, validates that copy and uses only the copy (alloc.h,
   struct mmfa_ctx): another process could change the mapped one at any time. */
struct mmfa_geometry {
    uint64_t meta_off;  /* one byte per unit of the reserve */
    uint64_t arena_off; /* first block, MMFA_UNIT-aligned */
    uint64_t units;     /* the reserve, in units: the most the heap can grow to */
    uint32_t max_order; /* largest order that fits the reserve */
    uint32_t pad0;
};

struct mmfa_heap {
    struct mmfa_geometry geo;
    /* state: under the namespace mutex; counts read relaxed by mmf_stat */
    mmf_a64 free_head[MMFA_ORDERS]; /* offsets of free blocks, 0 = none */
    mmf_a64 free_count[MMFA_ORDERS];
    mmf_a64 used_units;
    /* committed units: [0, committed) of the arena and their meta bytes
       exist. Grows, never shrinks, 1 <= committed <= geo.units. Written
       under the mutex with a release store, once the memory exists and the
       new units' meta bytes are zero (mmfa_grow); read with acquire
       (mmfa_sync). */
    mmf_a64 committed;
};
_Static_assert(sizeof(struct mmfa_geometry) == 32, "heap layout");
_Static_assert(offsetof(struct mmfa_heap, free_head) == 32, "heap layout");
_Static_assert(offsetof(struct mmfa_heap, committed) == 32 + (2 * MMFA_ORDERS + 1) * 8,
               "heap layout");
_Static_assert(sizeof(struct mmfa_heap) == 32 + (2 * MMFA_ORDERS + 2) * 8, "heap layout");

/* a free block's first words: doubly linked free list of its order */
struct mmfa_free_block {
    mmf_a64 next, prev;
};

/* ---- header (core/) ---------------------------------------------------- */

#define MMF_FLAG_TRANSIENT 1u /* removed by the last process to close it */

#define MMF_INTENT_NONE 0u
#define MMF_INTENT_READY 1u

/* A structural change in progress: complete once state is READY (its blocks
   are written), so recovery rolls it forward; before that nothing visible
   has changed and recovery only reclaims its blocks. */
struct mmf_intent {
    mmf_a64 state;
    uint64_t slot;
    uint64_t min_gen;   /* the generation the slot is published at, at least */
    uint64_t entry_pos; /* index entry to set afterwards, UINT64_MAX for none */
    uint64_t entry;     /* its new value */
    struct mmf_slot_image img;
};

/* index_desc: which buffer is in use (bit 31), its capacity - 1 (bits
   0..30: the probe mask itself, so that a reader decodes it with one AND,
   which also keeps a damaged one inside the buffer), and a generation that
   every rebuild raises (bits 32..63). A reader loads it (acquire) before
   probing and again before it answers "not found": if it moved, the probe
   may have walked a buffer being rebuilt, and is repeated. */
#define MMF_DESC_MAKE(gen, buf, log2cap)                                                           \
    ((uint64_t)(uint32_t)(gen) << 32 | (uint64_t)((buf)&1u) << 31 | ((1ull << (log2cap)) - 1u))
#define MMF_DESC_MASK(d) ((uint64_t)(d)&0x7fffffffu)
#define MMF_DESC_BUF(d) ((unsigned)(((d) >> 31) & 1u))
#define MMF_DESC_GEN(d) ((uint64_t)(d) >> 32)
#define MMF_DESC_LOG2CAP(d) ((unsigned)__builtin_popcountll(MMF_DESC_MASK(d)))

/* One change of the geometry, for the dump: what grew, from and to. */
enum { MMF_GROW_SLOTS = 1, MMF_GROW_HEAP = 2, MMF_GROW_INDEX = 3, MMF_COMPACT_INDEX = 4 };
#define MMF_HISTORY 16u
struct mmf_geo_event {
    uint64_t time_ns; /* CLOCK_REALTIME */
    uint32_t kind;    /* MMF_GROW_* */
    uint32_t pad;
    uint64_t from, to; /* slots, heap units, or index capacity */
};

struct mmf_header {
    /* identity and reserved geometry: written before the namespace is
       published, read-only after */
    uint64_t magic;
    uint32_t layout_version;
    uint32_t header_size;
    uint64_t fingerprint;
    uint64_t map_size;      /* the file's length: every region at its most */
    uint64_t max_size;      /* committed bytes at most */
    uint64_t index_off[2];  /* the two index buffers, index_cap_max entries each */
    uint32_t index_cap_max; /* a power of two, at least 2 x slots_max */
    uint32_t slots_max;     /* slots: live variables at most */
    uint64_t slots_off;
    mmf_a32 ready;       /* 1 once initialised */
    uint32_t flags;      /* MMF_FLAG_*, written at creation */
    uint64_t created_ns; /* CLOCK_REALTIME at creation, for the dump */
    char name[MMF_CACHE_LINE * 4];

    _Alignas(MMF_CACHE_LINE) struct mmfa_heap heap;

    /* the namespace mutex, alone on its lines */
    _Alignas(MMF_CACHE_LINE) pthread_mutex_t mutex;

    /* explicit lock (mmf_lock): read by every in-place writer */
    _Alignas(MMF_CACHE_LINE) mmf_a64 lock_owner; /* holder's registration token, 0 = unlocked */
    mmf_a64 lock_thread;                         /* holder's pthread_self() */
    uint64_t lock_depth;                         /* holder only */

    /* what readers load on every lookup; changes only when the namespace
       grows or its index is rebuilt, so it stays in every reader's cache */
    _Alignas(MMF_CACHE_LINE) mmf_a64 index_desc;
    mmf_a64 slots_committed; /* slots [0, slots_committed) exist */

    /* counters, written under the mutex */
    _Alignas(MMF_CACHE_LINE) mmf_a64 vars;
    mmf_a64 tombstones;
    mmf_a64 lock_acquisitions;
    mmf_a64 lock_recoveries;
    mmf_a64 gen_floor;       /* every new variable's version is above this */
    mmf_a64 slots_used;      /* slots [0, slots_used) have been handed out */
    mmf_a64 slot_free;       /* first free slot + 1, 0 = none; a cache rebuilt by recovery */
    mmf_a64 claim_takeovers; /* claims taken from dead writers (any process, atomic) */
    mmf_a32 regs_used;       /* registrations [0, regs_used) have been handed out */

    /* growth, under the mutex */
    _Alignas(MMF_CACHE_LINE) mmf_a64 committed; /* bytes of the file committed */
    mmf_a64 index_committed[2];                 /* bytes of each index buffer committed */
    mmf_a64 grows;
    mmf_a64 index_rebuilds;
    mmf_a64 history_count; /* events recorded; the last MMF_HISTORY are kept */
    struct mmf_geo_event history[MMF_HISTORY];

    /* structural changes, for mmf_wait on a missing variable */
    _Alignas(MMF_CACHE_LINE) mmf_a32 struct_seq;
    mmf_a32 struct_waiters;

    _Alignas(MMF_CACHE_LINE) struct mmf_intent intent;
};
_Static_assert(sizeof(struct mmf_header) <= MMF_HEADER_SIZE, "header fits its page");
_Static_assert(offsetof(struct mmf_header, heap) % MMF_CACHE_LINE == 0, "layout");
_Static_assert(offsetof(struct mmf_header, mutex) % MMF_CACHE_LINE == 0, "layout");
_Static_assert(offsetof(struct mmf_header, lock_owner) % MMF_CACHE_LINE == 0, "layout");
_Static_assert(offsetof(struct mmf_header, index_desc) % MMF_CACHE_LINE == 0, "layout");
_Static_assert(MMF_HEADER_SIZE % MMF_CACHE_LINE == 0, "registrations start aligned");
_Static_assert(MMF_INDEX_OFF % 4096 == 0, "the index starts on a page");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "mmf_wait sleeps on the low 32 bits of gen at its own address");

/* Changes whenever a size or an offset above changes. */
#define MMF_LAYOUT_FINGERPRINT                                                                     \
    ((uint64_t)sizeof(struct mmf_header) * 0x9e3779b97f4a7c15ull ^                                 \
     (uint64_t)sizeof(struct mmf_slot) << 1 ^ (uint64_t)sizeof(pthread_mutex_t) << 9 ^             \
     (uint64_t)offsetof(struct mmf_header, intent) << 17 ^ (uint64_t)MMF_SLOT_BITS << 23 ^         \
     (uint64_t)offsetof(struct mmf_header, mutex) << 29 ^ (uint64_t)MMFA_ORDERS << 41 ^            \
     (uint64_t)MMF_KEY_INLINE << 47 ^ (uint64_t)MMF_VALUE_INLINE << 53 ^ (uint64_t)MMF_REGS << 3 ^ \
     (uint64_t)offsetof(struct mmf_slot, incarnation) << 58 ^                                      \
     (uint64_t)offsetof(struct mmf_header, index_desc) << 11)

#endif
