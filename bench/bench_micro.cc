// Micro-benchmarks (Google Benchmark), one process: mmf against the floor
// (an in-process, unsynchronised table with the same hash), LMDB and
// Boost.Interprocess, on the same keys, values and access order.
//
//   op/system/keys/value_bytes     e.g. get_hit/mmf/100000/64
//
// ops: get_hit, get_handle (mmf only: a get through a variable handle opened
// beforehand for every key), get_miss, set_in_place, set_new_block (each write 16x larger
// or smaller than the key's last, on up to 1024 keys), insert_delete,
// add_i64, cas;
// keys 1,000 / 100,000 / 1,000,000; values 8 / 64 / 512 / 4,096 bytes
// (1,000,000 x 4,096 is left out: it needs more memory than the machine's
// quarter per system). Then get_chase/...: each get waits for the last one
// (the value names the next key), so it measures one get's latency.
//
// Filter with --benchmark_filter, e.g. 'get_hit/.*/100000/64$'.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "micro_stores.h"

namespace {

const char *const kSystems[] = {"floor", "mmf", "lmdb", "boost"};
const size_t kKeyCounts[] = {1000, 100000, 1000000};
const size_t kValueSizes[] = {8, 64, 512, 4096};
constexpr size_t kOrder = 1 << 20; // pre-drawn random key indices

struct Fixture {
    std::string system;
    size_t keys = 0, value = 0;
    std::unique_ptr<Store> store;
    std::string why;
    std::vector<std::string> names, misses;
    std::vector<uint32_t> order, next;
};

std::string key_name(const char *prefix, size_t i) {
    char buf[32];
    snprintf(buf, sizeof buf, "%s%012zu", prefix, i); // 16 bytes with "key:"
    return buf;
}

// One store at a time: the benchmarks run in registration order, grouped by
// (system, keys, value), so memory holds only the current one.
Fixture &fixture(const std::string &system, size_t keys, size_t value) {
    static Fixture f;
    if (f.system == system && f.keys == keys && f.value == value) return f;
    f.store.reset();
    f.system = system;
    f.keys = keys;
    f.value = value;
    f.why.clear();
    f.names.clear();
    f.misses.clear();
    for (size_t i = 0; i < keys; i++)
        f.names.push_back(key_name("key:", i));
    for (size_t i = 0; i < 4096; i++)
        f.misses.push_back(key_name("not:", i));
    std::mt19937 rng(42);
    f.order.resize(kOrder);
    for (auto &o : f.order)
        o = (uint32_t)(rng() % keys);
    std::vector<uint32_t> perm(keys);
    for (size_t i = 0; i < keys; i++)
        perm[i] = (uint32_t)i;
    std::shuffle(perm.begin(), perm.end(), std::mt19937(7));
    f.next.assign(keys, 0);
    for (size_t i = 0; i < keys; i++)
        f.next[perm[i]] = perm[(i + 1) % keys];
    f.store = make_store(system, keys, value, &f.why);
    if (!f.store) return f;
    std::vector<unsigned char> v(std::max<size_t>(value, 8));
    for (size_t i = 0; i < keys; i++) {
        memcpy(v.data(), &f.next[i], 4); // the chase's next key
        if (!f.store->set(f.names[i], v.data(), value)) {
            f.why = "loading failed";
            f.store.reset();
            return f;
        }
    }
    return f;
}

// the chase first, while every value still names its successor
enum Op {
    CHASE,
    GET_HIT,
    GET_HANDLE,
    GET_MISS,
    SET_IN_PLACE,
    SET_NEW_BLOCK,
    INSERT_DELETE,
    ADD_I64,
    CAS
};
const char *const kOpNames[] = {"get_chase",     "get_hit",      "get_handle",
                                "get_miss",      "set_in_place", "set_new_block",
                                "insert_delete", "add_i64",      "cas"};

void run(benchmark::State &state, Op op, const std::string &system, size_t keys, size_t value) {
    Fixture &f = fixture(system, keys, value);
    if (!f.store) {
        state.SkipWithError(("not run: " + f.why).c_str());
        for (auto _ : state) {
        }
        return;
    }
    Store &s = *f.store;
    if (op == GET_HANDLE && !s.open_handles(f.names)) {
        state.SkipWithError("not run: could not open the handles");
        for (auto _ : state) {
        }
        return;
    }
    std::vector<unsigned char> buf(16 * value + 1024), val(16 * value + 1024, 0x5a);
    size_t len, i = 0, errors = 0;
    uint32_t at = 0;
    for (auto _ : state) {
        const std::string &k = f.names[f.order[i & (kOrder - 1)]];
        switch (op) {
        case GET_HIT:
            errors += !s.get(k, buf.data(), buf.size(), &len);
            break;
        case GET_HANDLE:
            errors += !s.get_handle(f.order[i & (kOrder - 1)], buf.data(), buf.size(), &len);
            break;
        case GET_MISS:
            errors += s.get(f.misses[i & 4095], buf.data(), buf.size(), &len);
            break;
        case SET_IN_PLACE:
            val[0] = (unsigned char)i;
            errors += !s.set(k, val.data(), value);
            break;
        case SET_NEW_BLOCK: { // another size class on every write, on up to 1024 keys
            size_t n = keys < 1024 ? keys : 1024;
            errors += !s.set(f.names[i % n], val.data(), (i / n) & 1 ? 16 * value + 1024 : value);
            break;
        }
        case INSERT_DELETE: {
            const std::string &fresh = f.misses[i & 4095];
            errors += !s.set(fresh, val.data(), value);
            errors += !s.del(fresh);
            break;
        }
        case ADD_I64:
            errors += !s.add("counter", 1);
            break;
        case CAS:
            errors += !s.get_then_cas(k, val.data(), value);
            break;
        case CHASE:
            errors += !s.get(f.names[at], buf.data(), buf.size(), &len);
            memcpy(&at, buf.data(), 4);
            at %= (uint32_t)keys;
            break;
        }
        i++;
    }
    if (op == ADD_I64) s.del("counter");
    if (op == SET_NEW_BLOCK) // put the grown keys back as they were
        for (size_t j = 0; j < 1024 && j < keys; j++)
            s.set(f.names[j], val.data(), value);
    if (errors) state.SkipWithError((std::to_string(errors) + " operations failed").c_str());
    benchmark::DoNotOptimize(at);
}

void register_all() {
    for (const char *system : kSystems)
        for (size_t keys : kKeyCounts)
            for (size_t value : kValueSizes) {
                if (keys == 1000000 && value == 4096) continue;
                for (int op = CHASE; op <= CAS; op++) {
                    if (op == GET_HANDLE && std::string(system) != "mmf") continue; // mmf only
                    std::string name = std::string(kOpNames[op]) + "/" + system + "/" +
                                       std::to_string(keys) + "/" + std::to_string(value);
                    benchmark::RegisterBenchmark(name.c_str(),
                                                 [op, system, keys, value](benchmark::State &st) {
                                                     run(st, (Op)op, system, keys, value);
                                                 });
                }
            }
}

} // namespace

int main(int argc, char **argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
