/*
 * A key as every lookup wants it, prepared in one go: its XXH3 hash (moved
 * off the two reserved values) and its bytes as the zero-padded words that
 * slots and key blocks store, so that comparing is word against word. The
 * words come from 8-byte loads of the key (the last one overlapping the one
 * before and shifted), never from a byte loop or a memcpy call, and never
 * from a byte past the key's end.
 */
#ifndef MMF_INDEX_KEY_H
#define MMF_INDEX_KEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "../common/layout.h"

struct mmfi_key {
    uint64_t hash;
    size_t len; /* 1..MMF_KEY_LIMIT */
    const char *bytes;
    uint64_t words[(MMF_KEY_LIMIT + 7) / 8]; /* the first words_for(len) are set */
};

/* XXH3 of the key, moved off the two reserved values. */
MMF_INLINE uint64_t mmfi_hash(const char *key, size_t klen) {
    uint64_t h = XXH3_64bits(key, klen);
    return h < MMF_HASH_KEY_MIN ? h + 2 : h;
}

MMF_INLINE uint64_t key_load8(const char *p) {
    uint64_t w;
    memcpy(&w, p, 8); /* one unaligned load: the caller's memory, not shared */
    return w;
}

/* Whether the key is measured with strnlen: asked for (cmake
   -DMMF_EXACT_KEY_SCAN=ON, for memcheck runs with non-default options);
   under a sanitizer, which instruments the aligned loads below and
   (rightly, for C) reports the bytes they read past the key's NUL; or
   where SSE2 is missing. */
#if defined(MMF_EXACT_KEY_SCAN) || defined(__SANITIZE_ADDRESS__) ||                                \
    defined(__SANITIZE_THREAD__) || !defined(__SSE2__)
#define MMFI_KEY_SCAN_EXACT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define MMFI_KEY_SCAN_EXACT 1
#endif
#endif
#ifndef MMFI_KEY_SCAN_EXACT
#define MMFI_KEY_SCAN_EXACT 0
#endif

/* strnlen(key, 17), inline, as glibc's strlen does it: aligned 16-byte
   loads. An aligned load never crosses a page, and the second is made only
   when the first held no NUL at or after the key's start, so byte 16 - off
   belongs to the string and its block is mapped: no load can fault. The
   bytes it reads past the NUL (or before the key) are masked off. Memcheck,
   with its default options (--partial-loads-ok=yes, precise trailing-zero
   counts), accepts exactly this: an aligned load some of whose bytes are
   addressable, and a result that depends only on the defined ones
   (test_api runs heap keys of every length and offset under it). With
   --partial-loads-ok=no or --expensive-definedness-checks=no it reports
   them, as it would glibc's strlen if it did not replace it; an unaligned
   load would fail even its defaults. */
MMF_INLINE size_t mmfi_key_len17(const char *key) {
#if MMFI_KEY_SCAN_EXACT
    return strnlen(key, 17);
#else
    uintptr_t off = (uintptr_t)key & 15;
    /* the address as an integer: key - off would point before the object */
    const __m128i *block = (const __m128i *)((uintptr_t)key - off);
    const __m128i zero = _mm_setzero_si128();
    unsigned nul = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(block), zero)) >> off;
    /* the second block is needed by every key of 16 bytes (NUL included,
       17 to look at) and by shorter ones that start late in their block */
    if (__builtin_expect(nul != 0, 0)) return (size_t)__builtin_ctz(nul);
    nul = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_load_si128(block + 1), zero));
    /* bit 17 stands for "longer than 16" */
    return (size_t)__builtin_ctz(nul << (16 - off) | 1u << 17);
#endif
}

/* A NUL-terminated key's length, up to max (16 or more) bytes, max + 1 if longer:
   mmfi_key_len17 for the usual short key, strnlen past it. */
MMF_INLINE size_t mmfi_key_len(const char *key, size_t max) {
    size_t n = mmfi_key_len17(key);
    return n <= 16 ? n : strnlen(key, max + 1);
}

/* klen 1..MMF_KEY_LIMIT (little-endian, as layout.h asserts) */
MMF_INLINE void mmfi_key_init(struct mmfi_key *k, const char *key, size_t klen) {
    k->hash = mmfi_hash(key, klen);
    k->len = klen;
    k->bytes = key;
    size_t full = klen / 8, r = klen % 8;
    if (klen >= 8 && klen <= 16) { /* the usual key: two loads, no loop */
        k->words[0] = key_load8(key);
        /* bytes 8..klen-1: the 8 ending at the key's end, shifted down */
        k->words[1] = klen > 8 ? key_load8(key + klen - 8) >> (8 * (16 - klen)) : 0;
    } else if (klen >= 8) {
        for (size_t i = 0; i < full; i++)
            k->words[i] = key_load8(key + 8 * i);
        /* the last r bytes: the 8 ending at the key's end, shifted down */
        if (r) k->words[full] = key_load8(key + klen - 8) >> (8 * (8 - r));
    } else if (klen >= 4) {
        uint32_t lo, hi; /* bytes 0..3 and klen-4..klen-1, overlapping */
        memcpy(&lo, key, 4);
        memcpy(&hi, key + klen - 4, 4);
        k->words[0] = lo | (uint64_t)hi << (8 * (klen - 4));
    } else {
        const unsigned char *b = (const unsigned char *)key;
        k->words[0] = b[0] | (uint64_t)b[klen / 2] << (8 * (klen / 2)) |
                      (uint64_t)b[klen - 1] << (8 * (klen - 1));
    }
}

#endif
