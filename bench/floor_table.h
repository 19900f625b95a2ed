// The floor: an in-process, unsynchronised open-addressed table with the
// same hash (XXH3) as mmf's index. Keys up to 24 bytes live in the entry,
// values in their own allocation, as a plain C hash map would keep them;
// deletes leave a tombstone, each set bumps a version. What mmf costs on top
// of this is the price of sharing between processes.
#ifndef MMF_BENCH_FLOOR_TABLE_H
#define MMF_BENCH_FLOOR_TABLE_H

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

class FloorTable {
    struct Entry {
        uint64_t hash = 0; // 0 empty, kDeleted a tombstone, else odd
        uint32_t klen = 0, len = 0;
        char key[24] = {};
        void *val = nullptr;
        uint32_t cap = 0, version = 0;
    };
    static constexpr uint64_t kDeleted = 2;

  public:
    explicit FloorTable(size_t n) {
        size_t cap = 8;
        while (cap < n * 4 / 3 + 1)
            cap *= 2;
        entries_.assign(cap, Entry{});
        mask_ = cap - 1;
    }
    ~FloorTable() {
        for (auto &e : entries_)
            free(e.val);
    }
    FloorTable(const FloorTable &) = delete;
    FloorTable &operator=(const FloorTable &) = delete;

    bool set(const char *key, size_t klen, const void *val, size_t len) {
        if (klen > sizeof(Entry{}.key)) return false;
        uint64_t h = XXH3_64bits(key, klen) | 1;
        Entry *free_at = nullptr;
        for (size_t i = 0; i <= mask_; i++) {
            Entry &e = entries_[(h + i) & mask_];
            if (e.hash == kDeleted) {
                if (!free_at) free_at = &e;
            } else if (e.hash == 0) {
                return fill(free_at ? *free_at : e, h, key, klen, val, len);
            } else if (e.hash == h && e.klen == klen && !memcmp(e.key, key, klen)) {
                return fill(e, h, key, klen, val, len);
            }
        }
        return free_at && fill(*free_at, h, key, klen, val, len);
    }

    // 0 found, -1 missing, -2 buffer too small
    int get(const char *key, size_t klen, void *buf, size_t cap, size_t *len) const {
        const Entry *e = find(key, klen);
        if (!e) return -1;
        *len = e->len;
        if (e->len > cap) return -2;
        memcpy(buf, e->val, e->len);
        return 0;
    }

    bool del(const char *key, size_t klen) {
        Entry *e = const_cast<Entry *>(find(key, klen));
        if (!e) return false;
        free(e->val);
        *e = Entry{};
        e->hash = kDeleted;
        return true;
    }

    // 0 if missing
    uint32_t version(const char *key, size_t klen) const {
        const Entry *e = find(key, klen);
        return e ? e->version : 0;
    }

    bool cas(const char *key, size_t klen, uint32_t expected, const void *val, size_t len) {
        Entry *e = const_cast<Entry *>(find(key, klen));
        if (!e || e->version != expected) return false;
        return fill(*e, e->hash, key, klen, val, len);
    }

  private:
    const Entry *find(const char *key, size_t klen) const {
        uint64_t h = XXH3_64bits(key, klen) | 1;
        for (size_t i = 0; i <= mask_; i++) {
            const Entry &e = entries_[(h + i) & mask_];
            if (e.hash == 0) return nullptr;
            if (e.hash == h && e.klen == klen && !memcmp(e.key, key, klen)) return &e;
        }
        return nullptr;
    }

    bool fill(Entry &e, uint64_t h, const char *key, size_t klen, const void *val, size_t len) {
        if (e.hash != h || e.cap < len) {
            free(e.val);
            e.val = malloc(len ? len : 1);
            e.cap = (uint32_t)len;
        }
        e.hash = h;
        e.klen = (uint32_t)klen;
        memcpy(e.key, key, klen);
        memcpy(e.val, val, len);
        e.len = (uint32_t)len;
        e.version++;
        return true;
    }

    std::vector<Entry> entries_;
    size_t mask_ = 0;
};

#endif
