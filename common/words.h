/*
 * Copying bytes in and out of shared blocks one 64-bit atomic word at a time.
 *
 * A reader may copy a block while a writer refills it (the reader then fails
 * its generation check and retries). In C11 that overlap is only defined if
 * both sides use atomics, so both copy with relaxed atomic word accesses; the
 * seqlock's fences, not these accesses, give the ordering (Boehm, "Can
 * seqlocks get along with programming language memory models?").
 * Blocks and inline key areas are whole words, so the tail is padded with
 * zeros on the way in and cut on the way out.
 */
#ifndef MMF_COMMON_WORDS_H
#define MMF_COMMON_WORDS_H

#include <stddef.h>
#include <string.h>

#include "atomics.h"

MMF_INLINE size_t words_for(size_t len) {
    return (len + 7) / 8;
}

MMF_INLINE void words_load(void *dst, const mmf_a64 *src, size_t len) {
    unsigned char *d = dst;
    size_t n = len / 8;
    for (size_t i = 0; i < n; i++) {
        uint64_t w = load_relaxed(&src[i]); /* ordered by the caller's seqlock */
        memcpy(d + 8 * i, &w, 8);
    }
    if (len % 8) {
        uint64_t w = load_relaxed(&src[n]);
        memcpy(d + 8 * n, &w, len % 8);
    }
}

#define WORDS_LOAD_1(i)                                                                            \
    do {                                                                                           \
        uint64_t w_ = load_relaxed(&src[i]); /* ordered by the caller's seqlock */                 \
        memcpy(d + 8 * (i), &w_, 8);                                                               \
    } while (0)

/* words_load for len <= 64 (an inline value): straight-line word loads, one
   jump into them by the number of whole words, no loop and no call. */
MMF_INLINE void words_load_small(void *dst, const mmf_a64 *src, size_t len) {
    unsigned char *d = dst;
    size_t n = len / 8, r = len % 8;
    switch (n) {
    case 8:
        WORDS_LOAD_1(7);
        __attribute__((fallthrough));
    case 7:
        WORDS_LOAD_1(6);
        __attribute__((fallthrough));
    case 6:
        WORDS_LOAD_1(5);
        __attribute__((fallthrough));
    case 5:
        WORDS_LOAD_1(4);
        __attribute__((fallthrough));
    case 4:
        WORDS_LOAD_1(3);
        __attribute__((fallthrough));
    case 3:
        WORDS_LOAD_1(2);
        __attribute__((fallthrough));
    case 2:
        WORDS_LOAD_1(1);
        __attribute__((fallthrough));
    case 1:
        WORDS_LOAD_1(0);
        __attribute__((fallthrough));
    default:
        break;
    }
    if (__builtin_expect(r != 0, 0)) {
        uint64_t w = load_relaxed(&src[n]); /* ordered by the caller's seqlock */
        unsigned char *p = d + 8 * n;
        if (r & 4) {
            uint32_t x = (uint32_t)w;
            memcpy(p, &x, 4);
            p += 4;
            w >>= 32;
        }
        if (r & 2) {
            uint16_t x = (uint16_t)w;
            memcpy(p, &x, 2);
            p += 2;
            w >>= 16;
        }
        if (r & 1) *p = (unsigned char)w;
    }
}
/* words_load of exactly 64 bytes: eight word loads, straight. */
MMF_INLINE void words_load_64(void *dst, const mmf_a64 *src) {
    unsigned char *d = dst;
    WORDS_LOAD_1(0);
    WORDS_LOAD_1(1);
    WORDS_LOAD_1(2);
    WORDS_LOAD_1(3);
    WORDS_LOAD_1(4);
    WORDS_LOAD_1(5);
    WORDS_LOAD_1(6);
    WORDS_LOAD_1(7);
}
#undef WORDS_LOAD_1

#define WORDS_STORE_1(i)                                                                           \
    do {                                                                                           \
        uint64_t w_;                                                                               \
        memcpy(&w_, s + 8 * (i), 8);                                                               \
        store_relaxed(&dst[i], w_); /* published by the caller's release */                        \
    } while (0)

/* words_store for len <= 64 (an inline value): straight-line word stores,
   one jump by the number of whole words, the tail padded with zeros. */
MMF_INLINE void words_store_small(mmf_a64 *dst, const void *src, size_t len) {
    const unsigned char *s = src;
    size_t n = len / 8, r = len % 8;
    switch (n) {
    case 8:
        WORDS_STORE_1(7);
        __attribute__((fallthrough));
    case 7:
        WORDS_STORE_1(6);
        __attribute__((fallthrough));
    case 6:
        WORDS_STORE_1(5);
        __attribute__((fallthrough));
    case 5:
        WORDS_STORE_1(4);
        __attribute__((fallthrough));
    case 4:
        WORDS_STORE_1(3);
        __attribute__((fallthrough));
    case 3:
        WORDS_STORE_1(2);
        __attribute__((fallthrough));
    case 2:
        WORDS_STORE_1(1);
        __attribute__((fallthrough));
    case 1:
        WORDS_STORE_1(0);
        __attribute__((fallthrough));
    default:
        break;
    }
    if (r) {
        uint64_t w = 0;
        memcpy(&w, s + 8 * n, r);
        store_relaxed(&dst[n], w); /* published by the caller's release */
    }
}
#undef WORDS_STORE_1

MMF_INLINE void words_store(mmf_a64 *dst, const void *src, size_t len) {
    const unsigned char *s = src;
    size_t n = len / 8;
    for (size_t i = 0; i < n; i++) {
        uint64_t w;
        memcpy(&w, s + 8 * i, 8);
        store_relaxed(&dst[i], w); /* published by the caller's release */
    }
    if (len % 8) {
        uint64_t w = 0;
        memcpy(&w, s + 8 * n, len % 8);
        store_relaxed(&dst[n], w);
    }
}

#endif
