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
