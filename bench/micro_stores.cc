#include "micro_stores.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include <unistd.h>

#include "floor_table.h"
#include "mmf.h"

#ifdef MMF_BENCH_HAVE_LMDB
#include <lmdb.h>
#endif
#ifdef MMF_BENCH_HAVE_BOOST
#include <boost/interprocess/allocators/allocator.hpp>
#include <boost/interprocess/containers/map.hpp>
#include <boost/interprocess/containers/string.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/sync/interprocess_mutex.hpp>
#include <boost/interprocess/sync/scoped_lock.hpp>
#endif

namespace {

class FloorStore : public Store {
  public:
    explicit FloorStore(size_t keys) : t_(keys + 1024) {}
    bool get(const std::string &k, void *buf, size_t cap, size_t *len) override {
        return t_.get(k.data(), k.size(), buf, cap, len) == 0;
    }
    bool set(const std::string &k, const void *v, size_t len) override {
        return t_.set(k.data(), k.size(), v, len);
    }
    bool del(const std::string &k) override {
        return t_.del(k.data(), k.size());
    }
    bool add(const std::string &k, int64_t delta) override {
        int64_t n = 0;
        size_t len;
        t_.get(k.data(), k.size(), &n, sizeof n, &len);
        n += delta;
        return t_.set(k.data(), k.size(), &n, sizeof n);
    }
    bool get_then_cas(const std::string &k, const void *v, size_t len) override {
        return t_.cas(k.data(), k.size(), t_.version(k.data(), k.size()), v, len);
    }

  private:
    FloorTable t_;
};

class MmfStore : public Store {
  public:
    explicit MmfStore(size_t keys, size_t value) {
        name_ = "mmf.micro." + std::to_string(getpid());
        mmf_unlink(name_.c_str(), nullptr);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name_.c_str();
        o.max_vars = (uint32_t)(keys + 1024);
        // a slot and entries per key, two blocks per value too long for the
        // slot, and room for the keys the benchmarks grow
        uint64_t block = 64, grown = 64;
        while (block < value)
            block *= 2;
        while (grown < 16 * value + 1024)
            grown *= 2;
        o.size = (uint64_t)(keys + 1024) * (272 + (value > 64 ? 2 * block : 0)) * 5 / 4 +
                 1024 * 4 * grown + (64u << 20);
        if (mmf_open(&o, &ns_)) ns_ = nullptr;
    }
    ~MmfStore() override {
        for (mmf_var *v : vars_)
            mmf_var_close(v);
        if (ns_) mmf_close(ns_);
        mmf_unlink(name_.c_str(), nullptr);
    }
    bool ok() const {
        return ns_ != nullptr;
    }
    bool get(const std::string &k, void *buf, size_t cap, size_t *len) override {
        return mmf_get(ns_, k.c_str(), buf, cap, len) == MMF_OK;
    }
    bool set(const std::string &k, const void *v, size_t len) override {
        return mmf_set(ns_, k.c_str(), v, len) == MMF_OK;
    }
    bool del(const std::string &k) override {
        return mmf_delete(ns_, k.c_str()) == MMF_OK;
    }
    bool add(const std::string &k, int64_t delta) override {
        return mmf_add_i64(ns_, k.c_str(), delta, nullptr) == MMF_OK;
    }
    bool get_then_cas(const std::string &k, const void *v, size_t len) override {
        uint64_t version;
        size_t got;
        if (mmf_get_v(ns_, k.c_str(), nullptr, 0, &got, &version) != MMF_ERANGE) return false;
        return mmf_cas(ns_, k.c_str(), version, v, len) == MMF_OK;
    }

    bool open_handles(const std::vector<std::string> &keys) override {
        if (vars_.size() == keys.size()) return true;
        for (const std::string &k : keys) {
            mmf_var *v;
            if (mmf_var_open(ns_, k.c_str(), &v) != MMF_OK) return false;
            vars_.push_back(v);
        }
        return true;
    }
    bool get_handle(size_t i, void *buf, size_t cap, size_t *len) override {
        return mmf_var_get(vars_[i], buf, cap, len, nullptr) == MMF_OK;
    }

  private:
    std::string name_;
    mmf *ns_ = nullptr;
    std::vector<mmf_var *> vars_;
};

#ifdef MMF_BENCH_HAVE_LMDB
// One environment in /dev/shm; gets reuse one read transaction (reset and
// renewed around each get); each write commits its own transaction, with
// MDB_NOSYNC | MDB_WRITEMAP as a shared-memory peer would be run.
class LmdbStore : public Store {
  public:
    LmdbStore(size_t keys, size_t value) {
        path_ = "/dev/shm/mmf-micro-lmdb." + std::to_string(getpid());
        unlink(path_.c_str());
        unlink((path_ + "-lock").c_str());
        size_t map =
            (keys + 1024) * (value + 256) * 3 + 1024 * 3 * (16 * value + 1024) + (256u << 20);
        MDB_txn *t;
        ok_ = !mdb_env_create(&env_) && !mdb_env_set_mapsize(env_, map) &&
              !mdb_env_open(env_, path_.c_str(), MDB_NOSUBDIR | MDB_NOSYNC | MDB_WRITEMAP, 0600) &&
              !mdb_txn_begin(env_, nullptr, 0, &t) && !mdb_dbi_open(t, nullptr, 0, &dbi_) &&
              !mdb_txn_commit(t) && !mdb_txn_begin(env_, nullptr, MDB_RDONLY, &rtxn_);
        if (ok_) mdb_txn_reset(rtxn_);
    }
    ~LmdbStore() override {
        if (rtxn_) mdb_txn_abort(rtxn_);
        mdb_env_close(env_);
        unlink(path_.c_str());
        unlink((path_ + "-lock").c_str());
    }
    bool ok() const {
        return ok_;
    }
    bool get(const std::string &k, void *buf, size_t cap, size_t *len) override {
        if (mdb_txn_renew(rtxn_)) return false;
        MDB_val key{k.size(), (void *)k.data()}, v;
        bool found = mdb_get(rtxn_, dbi_, &key, &v) == 0;
        if (found) {
            *len = v.mv_size;
            memcpy(buf, v.mv_data, v.mv_size < cap ? v.mv_size : cap);
        }
        mdb_txn_reset(rtxn_);
        return found;
    }
    bool set(const std::string &k, const void *val, size_t len) override {
        return write([&](MDB_txn *t) {
            MDB_val key{k.size(), (void *)k.data()}, v{len, (void *)val};
            return mdb_put(t, dbi_, &key, &v, 0) == 0;
        });
    }
    bool del(const std::string &k) override {
        return write([&](MDB_txn *t) {
            MDB_val key{k.size(), (void *)k.data()};
            return mdb_del(t, dbi_, &key, nullptr) == 0;
        });
    }
    bool add(const std::string &k, int64_t delta) override {
        return write([&](MDB_txn *t) {
            MDB_val key{k.size(), (void *)k.data()}, v;
            int64_t n = 0;
            if (mdb_get(t, dbi_, &key, &v) == 0 && v.mv_size == sizeof n) memcpy(&n, v.mv_data, 8);
            n += delta;
            v = {sizeof n, &n};
            return mdb_put(t, dbi_, &key, &v, 0) == 0;
        });
    }
    bool get_then_cas(const std::string &k, const void *val, size_t len) override {
        // LMDB serialises writers: compare inside the write transaction
        return write([&](MDB_txn *t) {
            MDB_val key{k.size(), (void *)k.data()}, v;
            if (mdb_get(t, dbi_, &key, &v)) return false;
            v = {len, (void *)val};
            return mdb_put(t, dbi_, &key, &v, 0) == 0;
        });
    }

  private:
    template <class F> bool write(F f) {
        MDB_txn *t;
        if (mdb_txn_begin(env_, nullptr, 0, &t)) return false;
        if (!f(t)) {
            mdb_txn_abort(t);
            return false;
        }
        return mdb_txn_commit(t) == 0;
    }
    std::string path_;
    MDB_env *env_ = nullptr;
    MDB_dbi dbi_ = 0;
    MDB_txn *rtxn_ = nullptr;
    bool ok_ = false;
};
#endif

#ifdef MMF_BENCH_HAVE_BOOST
namespace bip = boost::interprocess;
// managed_shared_memory with an interprocess map of strings under one
// interprocess_mutex: how Boost.Interprocess shares a map between processes.
class BoostStore : public Store {
    using Seg = bip::managed_shared_memory::segment_manager;
    using Str = bip::basic_string<char, std::char_traits<char>, bip::allocator<char, Seg>>;
    using Pair = std::pair<const Str, Str>;
    using Map = bip::map<Str, Str, std::less<Str>, bip::allocator<Pair, Seg>>;

  public:
    BoostStore(size_t keys, size_t value) {
        name_ = "mmf-micro-boost." + std::to_string(getpid());
        bip::shared_memory_object::remove(name_.c_str());
        size_t size =
            (keys + 1024) * (value + 200) * 2 + 1024 * 3 * (16 * value + 1024) + (128u << 20);
        seg_ = std::make_unique<bip::managed_shared_memory>(bip::create_only, name_.c_str(), size);
        map_ = seg_->construct<Map>("map")(seg_->get_segment_manager());
        mutex_ = seg_->construct<bip::interprocess_mutex>("mutex")();
    }
    ~BoostStore() override {
        seg_.reset();
        bip::shared_memory_object::remove(name_.c_str());
    }
    bool get(const std::string &k, void *buf, size_t cap, size_t *len) override {
        bip::scoped_lock<bip::interprocess_mutex> lock(*mutex_);
        auto it = map_->find(key(k));
        if (it == map_->end()) return false;
        *len = it->second.size();
        memcpy(buf, it->second.data(), *len < cap ? *len : cap);
        return true;
    }
    bool set(const std::string &k, const void *v, size_t len) override {
        bip::scoped_lock<bip::interprocess_mutex> lock(*mutex_);
        Str val((const char *)v, len, seg_->get_segment_manager());
        auto it = map_->find(key(k));
        if (it != map_->end())
            it->second = val;
        else
            map_->emplace(key(k), val);
        return true;
    }
    bool del(const std::string &k) override {
        bip::scoped_lock<bip::interprocess_mutex> lock(*mutex_);
        return map_->erase(key(k)) == 1;
    }
    bool add(const std::string &k, int64_t delta) override {
        bip::scoped_lock<bip::interprocess_mutex> lock(*mutex_);
        auto it = map_->find(key(k));
        int64_t n = 0;
        if (it != map_->end() && it->second.size() == sizeof n) memcpy(&n, it->second.data(), 8);
        n += delta;
        Str val((const char *)&n, sizeof n, seg_->get_segment_manager());
        if (it != map_->end())
            it->second = val;
        else
            map_->emplace(key(k), val);
        return true;
    }
    bool get_then_cas(const std::string &k, const void *v, size_t len) override {
        bip::scoped_lock<bip::interprocess_mutex> lock(*mutex_); // compare and set under it
        auto it = map_->find(key(k));
        if (it == map_->end()) return false;
        it->second.assign((const char *)v, len);
        return true;
    }

  private:
    Str key(const std::string &k) {
        return Str(k.data(), k.size(), seg_->get_segment_manager());
    }
    std::string name_;
    std::unique_ptr<bip::managed_shared_memory> seg_;
    Map *map_ = nullptr;
    bip::interprocess_mutex *mutex_ = nullptr;
};
#endif

} // namespace

std::unique_ptr<Store> make_store(const std::string &system, size_t keys, size_t value,
                                  std::string *why) {
    if (system == "floor") return std::make_unique<FloorStore>(keys);
    if (system == "mmf") {
        auto s = std::make_unique<MmfStore>(keys, value);
        if (s->ok()) return s;
        *why = "mmf_open failed";
        return nullptr;
    }
#ifdef MMF_BENCH_HAVE_LMDB
    if (system == "lmdb") {
        auto s = std::make_unique<LmdbStore>(keys, value);
        if (s->ok()) return s;
        *why = "the LMDB environment could not be opened";
        return nullptr;
    }
#endif
#ifdef MMF_BENCH_HAVE_BOOST
    if (system == "boost") return std::make_unique<BoostStore>(keys, value);
#endif
    *why = system + " is not built in (install " +
           (system == "lmdb" ? std::string("liblmdb-dev") : std::string("libboost-dev")) +
           " and rebuild)";
    return nullptr;
}
