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
