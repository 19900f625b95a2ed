// The stores the micro-benchmarks compare, behind one small interface:
// the floor (an in-process, unsynchronised table), mmf, LMDB and
// Boost.Interprocess. A peer whose library is not installed is not built,
// and its benchmarks say so instead of running.
#ifndef MMF_BENCH_MICRO_STORES_H
#define MMF_BENCH_MICRO_STORES_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

class Store {
  public:
    virtual ~Store() = default;
    // every call returns true on success
    virtual bool get(const std::string &key, void *buf, size_t cap, size_t *len) = 0;
    virtual bool set(const std::string &key, const void *val, size_t len) = 0;
    virtual bool del(const std::string &key) = 0;
    virtual bool add(const std::string &key, int64_t delta) = 0;
    // set key to val only if it is unchanged since the caller read it
    virtual bool get_then_cas(const std::string &key, const void *val, size_t len) = 0;
    // a handle per key, resolved once (only mmf has them): open_handles
    // returns false where there are none; get_handle reads key i
    virtual bool open_handles(const std::vector<std::string> &keys) {
        (void)keys;
        return false;
    }
    virtual bool get_handle(size_t i, void *buf, size_t cap, size_t *len) {
        (void)i, (void)buf, (void)cap, (void)len;
        return false;
    }
};

// nullptr and *why set when the system is not available in this build
// A fresh store sized for keys values of value bytes (and room for the
// benchmarks' growth). nullptr, with *why, if system is not built in.
std::unique_ptr<Store> make_store(const std::string &system, size_t keys, size_t value,
                                  std::string *why);

#endif
