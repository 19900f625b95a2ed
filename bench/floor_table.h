// The floor: an in-process, unsynchronised open-addressed table with the
// same hash (XXH3) and the same load factor as mmf's index. Keys up to 24
// bytes live in the entry, values in their own allocation, as a plain C
// hash map would keep them. What mmf costs on top of this is the price of
// sharing between processes.
#ifndef MMF_BENCH_FLOOR_TABLE_H
#define MMF_BENCH_FLOOR_TABLE_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

class FloorTable {
  public:
    explicit FloorTable(size_t n) {
        size_t cap = 8;
        while (cap < n * 4 / 3 + 1) cap *= 2;
        entries_.assign(cap, Entry{});
        mask_ = cap - 1;
    }
    ~FloorTable() {
        for (auto &e : entries_) free(e.val);
    }
    FloorTable(const FloorTable &) = delete;
    FloorTable &operator=(const FloorTable &) = delete;

    bool set(const char *key, size_t klen, const void *val, size_t len) {
        if (klen > sizeof(Entry{}.key)) return false;
        uint64_t h = XXH3_64bits(key, klen) | 1; // 0 marks an empty entry
        for (size_t i = 0; i <= mask_; i++) {
            Entry &e = entries_[(h + i) & mask_];
            if (e.hash == 0 || (e.hash == h && e.klen == klen && !memcmp(e.key, key, klen))) {
                if (e.hash == 0 || e.len < len) {
                    free(e.val);
                    e.val = malloc(len ? len : 1);
                }
                e.hash = h;
                e.klen = (uint32_t)klen;
                memcpy(e.key, key, klen);
                memcpy(e.val, val, len);
                e.len = (uint32_t)len;
                return true;
            }
        }
        return false;
    }

    // 0 found, -1 missing, -2 buffer too small
    int get(const char *key, size_t klen, void *buf, size_t cap, size_t *len) const {
        uint64_t h = XXH3_64bits(key, klen) | 1;
        for (size_t i = 0; i <= mask_; i++) {
            const Entry &e = entries_[(h + i) & mask_];
            if (e.hash == 0) return -1;
            if (e.hash == h && e.klen == klen && !memcmp(e.key, key, klen)) {
                *len = e.len;
                if (e.len > cap) return -2;
                memcpy(buf, e.val, e.len);
                return 0;
            }
        }
        return -1;
    }

  private:
    struct Entry {
        uint64_t hash = 0;
        uint32_t klen = 0, len = 0;
        char key[24] = {};
        void *val = nullptr;
    };
    std::vector<Entry> entries_;
    size_t mask_ = 0;
};

#endif
