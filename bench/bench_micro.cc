// Micro-benchmarks (Google Benchmark): mmf's get and in-place set against
// the floor (an in-process table with the same hash), same keys, same values,
// same access order. Report ratios of the two from one run:
//   bench/mmf-bench-micro --benchmark_min_time=0.5
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "floor_table.h"
#include "mmf.h"

namespace {

constexpr size_t kVars = 100000;
constexpr size_t kValue = 64;

// 16-byte keys, visited in a shuffled order so that every get is a cold-ish
// random access, as in a table much larger than L1/L2.
struct Keys {
    std::vector<std::string> names;
    std::vector<uint32_t> order;
    Keys() {
        names.reserve(kVars);
        char buf[32];
        for (size_t i = 0; i < kVars; i++) {
            snprintf(buf, sizeof buf, "key:%012zu", i);
            names.emplace_back(buf);
        }
        order.resize(1 << 20);
        std::mt19937 rng(42);
        for (auto &o : order) o = (uint32_t)(rng() % kVars);
    }
};
const Keys &keys() {
    static Keys k;
    return k;
}

// A value's first 4 bytes name the next variable of a random cycle through
// all of them, so that the "chase" benchmarks measure one get's latency:
// each get waits for the previous one, as a program that uses what it reads.
uint32_t next_in_cycle(size_t i) {
    static std::vector<uint32_t> next = [] {
        std::vector<uint32_t> perm(kVars), nx(kVars);
        for (size_t j = 0; j < kVars; j++) perm[j] = (uint32_t)j;
        std::shuffle(perm.begin(), perm.end(), std::mt19937(7));
        for (size_t j = 0; j < kVars; j++) nx[perm[j]] = perm[(j + 1) % kVars];
        return nx;
    }();
    return next[i];
}

void fill_value(unsigned char *v, size_t i) {
    for (size_t b = 0; b < kValue; b++) v[b] = (unsigned char)(i + b);
    uint32_t nx = next_in_cycle(i);
    memcpy(v, &nx, sizeof nx);
}

struct Namespace {
    mmf *ns = nullptr;
    std::string name;
    Namespace() {
        name = "mmf.bench." + std::to_string(getpid());
        mmf_unlink(name.c_str(), nullptr);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name.c_str();
        o.size = 64ull << 20;
        o.max_vars = kVars;
        int rc = mmf_open(&o, &ns);
        if (rc) {
            fprintf(stderr, "mmf_open: %s\n", mmf_strerror(rc));
            abort();
        }
        unsigned char v[kValue];
        for (size_t i = 0; i < kVars; i++) {
            fill_value(v, i);
            mmf_set(ns, keys().names[i].c_str(), v, kValue);
        }
    }
    ~Namespace() {
        mmf_close(ns);
        mmf_unlink(name.c_str(), nullptr);
    }
};
Namespace &shared_ns() {
    static Namespace n;
    return n;
}

FloorTable &floor_table() {
    static FloorTable table(kVars);
    static bool filled = [] {
        unsigned char v[kValue];
        for (size_t i = 0; i < kVars; i++) {
            fill_value(v, i);
            table.set(keys().names[i].data(), keys().names[i].size(), v, kValue);
        }
        return true;
    }();
    (void)filled;
    return table;
}

void BM_floor_get_hit(benchmark::State &state) {
    const FloorTable &table = floor_table();
    const auto &k = keys();
    unsigned char buf[kValue];
    size_t len, i = 0;
    for (auto _ : state) {
        const std::string &key = k.names[k.order[i++ & (k.order.size() - 1)]];
        int rc = table.get(key.data(), key.size(), buf, sizeof buf, &len);
        benchmark::DoNotOptimize(rc);
        benchmark::DoNotOptimize(buf);
    }
}
BENCHMARK(BM_floor_get_hit);

void BM_mmf_get_hit(benchmark::State &state) {
    mmf *ns = shared_ns().ns;
    const auto &k = keys();
    unsigned char buf[kValue];
    size_t len, i = 0;
    for (auto _ : state) {
        const std::string &key = k.names[k.order[i++ & (k.order.size() - 1)]];
        int rc = mmf_get(ns, key.c_str(), buf, sizeof buf, &len);
        benchmark::DoNotOptimize(rc);
        benchmark::DoNotOptimize(buf);
    }
}
BENCHMARK(BM_mmf_get_hit);

void BM_floor_get_chase(benchmark::State &state) {
    const FloorTable &table = floor_table();
    const auto &k = keys();
    unsigned char buf[kValue];
    size_t len;
    uint32_t at = 0;
    for (auto _ : state) {
        const std::string &key = k.names[at];
        table.get(key.data(), key.size(), buf, sizeof buf, &len);
        memcpy(&at, buf, sizeof at);
    }
    benchmark::DoNotOptimize(at);
}
BENCHMARK(BM_floor_get_chase);

void BM_mmf_get_chase(benchmark::State &state) {
    mmf *ns = shared_ns().ns;
    const auto &k = keys();
    unsigned char buf[kValue];
    size_t len;
    uint32_t at = 0;
    for (auto _ : state) {
        const std::string &key = k.names[at];
        mmf_get(ns, key.c_str(), buf, sizeof buf, &len);
        memcpy(&at, buf, sizeof at);
    }
    benchmark::DoNotOptimize(at);
}
BENCHMARK(BM_mmf_get_chase);

void BM_floor_set(benchmark::State &state) {
    static FloorTable table(kVars);
    const auto &k = keys();
    unsigned char v[kValue];
    fill_value(v, 1);
    size_t i = 0;
    for (auto _ : state) {
        const std::string &key = k.names[k.order[i++ & (k.order.size() - 1)]];
        v[0] = (unsigned char)i;
        benchmark::DoNotOptimize(table.set(key.data(), key.size(), v, kValue));
    }
}
BENCHMARK(BM_floor_set);

void BM_mmf_set_in_place(benchmark::State &state) {
    mmf *ns = shared_ns().ns;
    const auto &k = keys();
    unsigned char v[kValue];
    fill_value(v, 1);
    size_t i = 0;
    mmf_stats before, after;
    mmf_stat(ns, &before);
    for (auto _ : state) {
        const std::string &key = k.names[k.order[i++ & (k.order.size() - 1)]];
        v[0] = (unsigned char)i;
        benchmark::DoNotOptimize(mmf_set(ns, key.c_str(), v, kValue));
    }
    mmf_stat(ns, &after);
    state.counters["mutex_per_op"] =
        (double)(after.lock_acquisitions - before.lock_acquisitions) / (double)state.iterations();
}
BENCHMARK(BM_mmf_set_in_place);

void BM_mmf_get_hot_key(benchmark::State &state) {
    mmf *ns = shared_ns().ns;
    unsigned char buf[kValue];
    size_t len;
    for (auto _ : state) {
        benchmark::DoNotOptimize(mmf_get(ns, "key:000000000007", buf, sizeof buf, &len));
        benchmark::DoNotOptimize(buf);
    }
}
BENCHMARK(BM_mmf_get_hot_key);

} // namespace

BENCHMARK_MAIN();
