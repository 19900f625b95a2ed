/*
 * The one atomics wrapper. The memory order is in every name, so that
 * `grep relaxed` lists every access that relies on something else for its
 * ordering. Everything shared between processes goes through these; no
 * volatile, no __sync.
 */
#ifndef MMF_COMMON_ATOMICS_H
#define MMF_COMMON_ATOMICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef _Atomic uint64_t mmf_a64;
typedef _Atomic uint32_t mmf_a32;

/* Atomics that cross process boundaries must be lock-free: a lock-based
   atomic would lock a table in one process's memory, invisible to others. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free");

#define MMF_INLINE static inline __attribute__((always_inline))

MMF_INLINE uint64_t load_relaxed(const mmf_a64 *p) {
    return atomic_load_explicit((mmf_a64 *)p, memory_order_relaxed);
}
MMF_INLINE uint64_t load_acquire(const mmf_a64 *p) {
    return atomic_load_explicit((mmf_a64 *)p, memory_order_acquire);
}
MMF_INLINE uint64_t load_seq_cst(const mmf_a64 *p) {
    return atomic_load_explicit((mmf_a64 *)p, memory_order_seq_cst);
}
MMF_INLINE void store_relaxed(mmf_a64 *p, uint64_t v) {
    atomic_store_explicit(p, v, memory_order_relaxed);
}
MMF_INLINE void store_release(mmf_a64 *p, uint64_t v) {
    atomic_store_explicit(p, v, memory_order_release);
}
MMF_INLINE void store_seq_cst(mmf_a64 *p, uint64_t v) {
    atomic_store_explicit(p, v, memory_order_seq_cst);
}
MMF_INLINE bool cas_acquire(mmf_a64 *p, uint64_t *expected, uint64_t desired) {
    return atomic_compare_exchange_strong_explicit(p, expected, desired, memory_order_acquire,
                                                   memory_order_relaxed);
}
MMF_INLINE bool cas_relaxed(mmf_a64 *p, uint64_t *expected, uint64_t desired) {
    return atomic_compare_exchange_weak_explicit(p, expected, desired, memory_order_relaxed,
                                                 memory_order_relaxed);
}
MMF_INLINE bool cas_seq_cst(mmf_a64 *p, uint64_t *expected, uint64_t desired) {
    return atomic_compare_exchange_strong_explicit(p, expected, desired, memory_order_seq_cst,
                                                   memory_order_relaxed);
}
MMF_INLINE uint64_t fetch_add_relaxed(mmf_a64 *p, uint64_t v) {
    return atomic_fetch_add_explicit(p, v, memory_order_relaxed);
}

MMF_INLINE uint32_t load32_relaxed(const mmf_a32 *p) {
    return atomic_load_explicit((mmf_a32 *)p, memory_order_relaxed);
}
MMF_INLINE uint32_t load32_acquire(const mmf_a32 *p) {
    return atomic_load_explicit((mmf_a32 *)p, memory_order_acquire);
}
MMF_INLINE uint32_t load32_seq_cst(const mmf_a32 *p) {
    return atomic_load_explicit((mmf_a32 *)p, memory_order_seq_cst);
}
MMF_INLINE void store32_relaxed(mmf_a32 *p, uint32_t v) {
    atomic_store_explicit(p, v, memory_order_relaxed);
}
MMF_INLINE void store32_release(mmf_a32 *p, uint32_t v) {
    atomic_store_explicit(p, v, memory_order_release);
}
MMF_INLINE uint32_t fetch_add32_seq_cst(mmf_a32 *p, uint32_t v) {
    return atomic_fetch_add_explicit(p, v, memory_order_seq_cst);
}
MMF_INLINE uint32_t fetch_sub32_seq_cst(mmf_a32 *p, uint32_t v) {
    return atomic_fetch_sub_explicit(p, v, memory_order_seq_cst);
}
MMF_INLINE uint32_t fetch_add32_release(mmf_a32 *p, uint32_t v) {
    return atomic_fetch_add_explicit(p, v, memory_order_release);
}
MMF_INLINE uint32_t exchange32_acquire(mmf_a32 *p, uint32_t v) {
    return atomic_exchange_explicit(p, v, memory_order_acquire);
}
MMF_INLINE void store32_seq_cst(mmf_a32 *p, uint32_t v) {
    atomic_store_explicit(p, v, memory_order_seq_cst);
}
MMF_INLINE bool cas32_acquire(mmf_a32 *p, uint32_t *expected, uint32_t desired) {
    return atomic_compare_exchange_strong_explicit(p, expected, desired, memory_order_acquire,
                                                   memory_order_relaxed);
}
MMF_INLINE bool cas32_relaxed(mmf_a32 *p, uint32_t *expected, uint32_t desired) {
    return atomic_compare_exchange_weak_explicit(p, expected, desired, memory_order_relaxed,
                                                 memory_order_relaxed);
}

MMF_INLINE void fence_acquire(void) {
    atomic_thread_fence(memory_order_acquire);
}
MMF_INLINE void fence_release(void) {
    atomic_thread_fence(memory_order_release);
}
/* Orders nothing between threads: only keeps the compiler from moving or
   repeating memory accesses across it (a private copy of shared plain fields
   stays the copy). */
MMF_INLINE void fence_compiler(void) {
    atomic_signal_fence(memory_order_seq_cst);
}

/* Hints that a line will be read (or written) soon: its miss then overlaps
   the misses before it. A prefetch is not an access in the memory model,
   it orders and publishes nothing, and it cannot fault. */
MMF_INLINE void prefetch_read(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
MMF_INLINE void prefetch_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

MMF_INLINE void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
