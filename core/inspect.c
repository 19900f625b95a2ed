/* Looking at a namespace: foreach, stat, check, dump. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "../common/words.h"

int mmf_foreach(mmf *ns, mmf_visit_fn fn, void *ctx) {
    if (!ns || !fn) return MMF_EINVAL;
    size_t cap = 256;
    unsigned char *buf = malloc(cap);
    char key[MMF_KEY_MAX + 1];
    if (!buf) return MMF_ENOMEM;
    int rc = MMF_OK;
    /* by slot: slots never move, whatever the index does meanwhile */
    mmfi_refresh(&ns->t);
    uint64_t nslots = load_relaxed(&ns->t.nslots); /* those created later may be missed */
    for (uint64_t i = 0; i < nslots && rc == MMF_OK;) {
        struct mmf_read_ctx rctx = mmf__read_ctx(ns);
        mmfi_stall st = mmf__read_stall_on(&rctx);
        mmfi_hit hit;
        int r = mmfi_read_slot(&ns->t, i, key, buf, cap, &hit, &st);
        if (r == MMFI_SMALL) {
            unsigned char *bigger = realloc(buf, hit.len);
            if (!bigger) {
                rc = MMF_ENOMEM;
                break;
            }
            buf = bigger;
            cap = hit.len;
            continue; /* read slot i again */
        }
        if (r == MMFI_ESTALL)
            rc = rctx.err;
        else if (r < 0)
            rc = MMF_ECORRUPT;
        else if (r == MMFI_FOUND)
            rc = fn(key, buf, hit.len, hit.version, ctx);
        i++;
    }
    free(buf);
    return rc;
}

uint64_t mmf__probes(mmf *ns, const char *key) {
    struct mmfi_key k;
    if (!ns || mmf__key_prepare(&k, key)) return 0;
    return mmfi_probe_length(&ns->t, &k);
}

int mmf_stat(mmf *ns, mmf_stats *st) {
    if (!ns || !st) return MMF_EINVAL;
    const struct mmf_header *h = ns->hdr;
    mmfa_usage u;
    mmfa_get_usage(&ns->heap, &u);
    memset(st, 0, sizeof *st);
    st->size = mmf__committed(ns); /* refreshes the table's counts too */
    st->heap_size = load_relaxed(&ns->t.heap_hi) - ns->t.heap_lo;
    st->heap_used = u.used;
    st->heap_free = u.free;
    st->largest_free_block = u.largest_free;
    /* relaxed: counters written under the mutex; a snapshot is all we promise */
    st->vars = load_relaxed(&h->vars);
    st->max_vars = load_relaxed(&ns->t.nslots);
    st->tombstones = load_relaxed(&h->tombstones);
    st->lock_acquisitions = load_relaxed(&h->lock_acquisitions);
    st->lock_recoveries = load_relaxed(&h->lock_recoveries);
    st->claim_takeovers = load_relaxed(&h->claim_takeovers);
    st->grows = load_relaxed(&h->grows);
    st->index_rebuilds = load_relaxed(&h->index_rebuilds);
    size_t attached = 0;
    mmf_proc_id *regs = malloc(MMF_REGS * sizeof *regs);
    if (!regs) return MMF_ENOMEM;
    int rc = mmf__registrations(ns, regs, &attached);
    free(regs);
    st->attached = attached;
    return rc;
}

#define REPORT(...)                                                                                \
    do {                                                                                           \
        if (report) fprintf(report, __VA_ARGS__);                                                  \
    } while (0)

/* One slot's consistency; 0 if whole. Mutex held. */
static int check_slot(mmf *ns, uint64_t i, uint64_t entry, uint8_t *seen, FILE *report) {
    const struct mmfi_table *t = &ns->t;
    const struct mmf_slot *s = &t->slots[i];
    uint64_t hash = load_relaxed(&s->hash);
    if (hash < MMF_HASH_KEY_MIN || ENTRY_TAG(hash) != ENTRY_TAG(entry)) {
        REPORT("slot %llu: holds no variable, or not the one its entry names\n",
               (unsigned long long)i);
        return 1;
    }
    /* a handle trusts the slot an incarnation names (core/var.c checks it
       before caching; this finds the damage) */
    if (MMF_INC_SLOT(load_relaxed(&s->incarnation)) != i) {
        REPORT("slot %llu: its incarnation names another slot\n", (unsigned long long)i);
        return 1;
    }
    uint64_t off[3];
    unsigned order[3];
    /* loaded once: the blocks, the key length and the key's place all come
       from this one value (mutex held, but the mapping is shared) */
    uint64_t vs = load_relaxed(&s->vstate);
    int n = mmfi_slot_blocks(t, s, vs, off, order);
    if (n < 0) {
        REPORT("slot %llu: a block offset or length is out of bounds\n", (unsigned long long)i);
        return 1;
    }
    unsigned klen = VS_KLEN(vs); /* 1..255; above MMF_KEY_INLINE, off[n - 1] is its block */
    char key[MMF_KEY_MAX + 1];
    words_load(key, klen <= MMF_KEY_INLINE ? s->key : (const mmf_a64 *)(ns->base + off[n - 1]),
               klen);
    if (mmfi_hash(key, klen) != hash) {
        REPORT("slot %llu: the stored hash is not the key's\n", (unsigned long long)i);
        return 1;
    }
    for (int b = 0; b < n; b++) {
        if (!mmfa_is_allocated(&ns->heap, off[b], order[b])) {
            REPORT("slot %llu: block %llu is not an allocated block of order %u\n",
                   (unsigned long long)i, (unsigned long long)off[b], order[b]);
            return 1;
        }
        uint64_t u = (off[b] - ns->geo.heap.arena_off) >> MMFA_UNIT_SHIFT;
        if (seen[u / 8] & (1u << (u % 8))) {
            REPORT("slot %llu: block %llu is also used by another variable\n",
                   (unsigned long long)i, (unsigned long long)off[b]);
            return 1;
        }
        seen[u / 8] |= (uint8_t)(1u << (u % 8));
    }
    return 0;
}

/* Entries and slots: each live entry names its own slot, every other slot
   is free, the free chain and the counters agree. 0 whole, 1 not, -1 out of
   memory. */
static int check_index(mmf *ns, FILE *report) {
    const struct mmfi_table *t = &ns->t;
    struct mmf_header *h = ns->hdr;
    struct mmfi_view v;
    if (mmfi_view_checked(t, &v)) {
        REPORT("index: the descriptor names a capacity its buffers cannot hold\n");
        return 1;
    }
    /* a buffer commits before it is filled, and is filled before the
       descriptor names it: the index in use lies in committed memory */
    for (unsigned b = 0; b < 2; b++) {
        uint64_t c = load_relaxed(&h->index_committed[b]);
        if (c > (uint64_t)ns->geo.index_cap_max * 8) {
            REPORT("index: buffer %u has %llu bytes committed, of %llu reserved\n", b,
                   (unsigned long long)c, (unsigned long long)ns->geo.index_cap_max * 8);
            return 1;
        }
    }
    if ((v.mask + 1) * 8 > load_relaxed(&h->index_committed[MMF_DESC_BUF(v.desc)])) {
        REPORT("index: %llu entries in buffer %u, past its committed bytes\n",
               (unsigned long long)(v.mask + 1), MMF_DESC_BUF(v.desc));
        return 1;
    }
    /* mutex held, synced: the counts are the committed ones */
    uint64_t nslots = load_relaxed(&t->nslots);
    uint64_t units = (load_relaxed(&t->heap_hi) - t->heap_lo) >> MMFA_UNIT_SHIFT;
    uint8_t *blocks = calloc(units / 8 + 1, 1), *named = calloc(nslots / 8 + 1, 1);
    if (!blocks || !named) {
        free(blocks);
        free(named);
        return -1;
    }
    int bad = 0;
    uint64_t vars = 0, tombs = 0;
    for (uint64_t p = 0; p <= v.mask && !bad; p++) {
        uint64_t e = load_relaxed(&v.entries[p]);
        tombs += e == MMF_ENTRY_TOMB;
        if (!ENTRY_LIVE(e)) continue;
        uint64_t i = ENTRY_SLOT(e);
        vars++;
        if (i >= nslots || (named[i / 8] & (1u << (i % 8)))) {
            REPORT("entry %llu: names slot %llu, out of range or named twice\n",
                   (unsigned long long)p, (unsigned long long)i);
            bad = 1;
            break;
        }
        named[i / 8] |= (uint8_t)(1u << (i % 8));
        bad |= check_slot(ns, i, e, blocks, report);
    }
    uint64_t used = load_relaxed(&h->slots_used), chained = 0;
    if (used > nslots) { /* a damaged count would also let a looping chain run on */
        REPORT("slots: %llu handed out, of %llu\n", (unsigned long long)used,
               (unsigned long long)nslots);
        bad = 1;
    }
    for (uint64_t i = 0; i < nslots && !bad; i++) {
        const struct mmf_slot *s = &t->slots[i];
        uint64_t g = load_relaxed(&s->gen);
        if ((g & 1) && !load_relaxed(&s->owner)) {
            REPORT("slot %llu: generation %llu is odd and nobody is writing it\n",
                   (unsigned long long)i, (unsigned long long)g);
            bad = 1;
        }
        if (!(named[i / 8] & (1u << (i % 8))) && load_relaxed(&s->hash) != MMF_HASH_EMPTY) {
            REPORT("slot %llu: holds a variable that no entry names\n", (unsigned long long)i);
            bad = 1;
        }
    }
    for (uint64_t f = load_relaxed(&h->slot_free); f && !bad;) {
        if (f > nslots || (named[(f - 1) / 8] & (1u << ((f - 1) % 8))) || ++chained > used) {
            REPORT("slots: the free chain is broken at slot %llu\n", (unsigned long long)(f - 1));
            bad = 1;
        } else {
            f = t->slots[f - 1].next_free; /* checked on the next round */
        }
    }
    if (!bad && chained + vars != used) {
        REPORT("slots: %llu in use and %llu free, of %llu handed out (%lld lost)\n",
               (unsigned long long)vars, (unsigned long long)chained, (unsigned long long)used,
               (long long)(used - vars - chained));
        bad = 1;
    }
    uint64_t nvars = load_relaxed(&h->vars), ntombs = load_relaxed(&h->tombstones);
    if (!bad && (vars != nvars || tombs != ntombs)) {
        REPORT("index: %llu variables and %llu tombstones, the counters say %llu and %llu\n",
               (unsigned long long)vars, (unsigned long long)tombs, (unsigned long long)nvars,
               (unsigned long long)ntombs);
        bad = 1;
    }
    free(blocks);
    free(named);
    return bad;
}

static int check_locked(mmf *ns, FILE *report) {
    struct mmf_header *h = ns->hdr;
    int bad = check_index(ns, report);
    if (bad < 0) return MMF_ENOMEM;
    if (mmfa_check(&ns->heap, report)) bad = 1;
    uint64_t off, live_units = 0;
    unsigned order;
    struct mmf_live_cursor cursor = {.t = &ns->t};
    while (!bad && mmf__live_blocks(&cursor, &off, &order) == 0)
        live_units += 1ull << order;
    uint64_t used_units = load_relaxed(&ns->heap.h->used_units);
    if (!bad && live_units != used_units) {
        REPORT("heap: %llu units allocated, %llu referenced by variables (%lld leaked)\n",
               (unsigned long long)used_units, (unsigned long long)live_units,
               (long long)(used_units - live_units));
        bad = 1;
    }
    if (load_relaxed(&h->intent.state) != MMF_INTENT_NONE) {
        REPORT("intent record: a change is marked in progress\n");
        bad = 1;
    }
    if (!bad) {
        uint64_t nvars = load_relaxed(&h->vars), ntombs = load_relaxed(&h->tombstones);
        REPORT("ok: %llu variables, %llu tombstones, heap whole\n", (unsigned long long)nvars,
               (unsigned long long)ntombs);
    }
    return bad ? MMF_ECORRUPT : MMF_OK;
}

int mmf_check(mmf *ns, FILE *report) {
    if (!ns) return MMF_EINVAL;
    if (ns->readonly) return MMF_EPERM; /* it takes the mutex and repairs */
    int rc = mmf__mutex_lock_timed(ns);
    if (rc) return rc;
    rc = check_locked(ns, report);
    mmf__mutex_unlock(ns);
    return rc;
}

static void dump_block(void *ctx, uint64_t off, unsigned order, int is_free) {
    fprintf((FILE *)ctx, "  %12llu  %10llu  %s\n", (unsigned long long)off,
            (unsigned long long)mmfa_block_size(order), is_free ? "free" : "used");
}

static void dump_preview(FILE *out, const unsigned char *v, size_t len) {
    fputc('"', out);
    for (size_t i = 0; i < len && i < 32; i++)
        fprintf(out, v[i] >= 32 && v[i] < 127 && v[i] != '"' ? "%c" : "\\x%02x", v[i]);
    fputs(len > 32 ? "\"..." : "\"", out);
}

/* The geometry's changes, oldest first (the last MMF_HISTORY of them). */
static void dump_history(const struct mmf_header *h, uint64_t grows, uint64_t rebuilds, FILE *out) {
    static const char *const what[] = {"?", "slots", "heap units", "index entries",
                                       "index entries (compacted)"};
    uint64_t n = load_relaxed(&h->history_count); /* a snapshot */
    fprintf(out, "growth: %llu grows, %llu index rebuilds%s\n", (unsigned long long)grows,
            (unsigned long long)rebuilds, n ? "; the last ones:" : "");
    for (uint64_t i = n > MMF_HISTORY ? n - MMF_HISTORY : 0; i < n; i++) {
        const struct mmf_geo_event *e = &h->history[i % MMF_HISTORY];
        time_t at = (time_t)(e->time_ns / 1000000000u);
        char when[64];
        strftime(when, sizeof when, "%H:%M:%S", gmtime(&at));
        fprintf(out, "  %s.%06llu  %-26s %llu -> %llu\n", when,
                (unsigned long long)(e->time_ns % 1000000000u / 1000u),
                what[e->kind < 5 ? e->kind : 0], (unsigned long long)e->from,
                (unsigned long long)e->to);
    }
}

static void dump_locked(mmf *ns, FILE *out) {
    const struct mmf_header *h = ns->hdr;
    const struct mmf_geom *g = &ns->geo; /* validated at attach; the header's may differ now */
    const struct mmfa_heap *hp = ns->heap.h;
    mmf_stats st;
    mmf_stat(ns, &st);
    time_t created = (time_t)(h->created_ns / 1000000000u);
    char when[64];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&created));
    /* the name was NUL-terminated at attach; the mapping's may not be now */
    fprintf(out, "namespace %.*s (%s)\n", (int)sizeof h->name, h->name, ns->path);
    fprintf(out, "header: magic %016llx, layout %u, created %s\n", (unsigned long long)h->magic,
            h->layout_version, when);
    fprintf(out, "size: %llu bytes committed, of %llu at most (file %llu bytes, sparse)\n",
            (unsigned long long)st.size, (unsigned long long)g->max_size,
            (unsigned long long)g->size);
    struct mmfi_view v = {0};
    uint64_t cap = mmfi_view_checked(&ns->t, &v) ? 0 : v.mask + 1;
    fprintf(out,
            "index: buffer %u at offset %llu, %llu entries (at most %u), generation %llu, "
            "%llu tombstones\n",
            MMF_DESC_BUF(v.desc), (unsigned long long)g->index_off[MMF_DESC_BUF(v.desc)],
            (unsigned long long)cap, g->index_cap_max, (unsigned long long)MMF_DESC_GEN(v.desc),
            (unsigned long long)st.tombstones);
    fprintf(out, "slots: offset %llu, %llu of %llu in use (at most %u; %u bytes each)\n",
            (unsigned long long)g->slots_off, (unsigned long long)st.vars,
            (unsigned long long)st.max_vars, g->slots_max, MMF_SLOT_SIZE);
    fprintf(out, "heap: offset %llu, %llu bytes, used %llu, free %llu, largest free block %llu\n",
            (unsigned long long)g->heap.arena_off, (unsigned long long)st.heap_size,
            (unsigned long long)st.heap_used, (unsigned long long)st.heap_free,
            (unsigned long long)st.largest_free_block);
    dump_history(h, st.grows, st.index_rebuilds, out);
    uint64_t holder = load_relaxed(&h->lock_owner);
    uint32_t reg = TOKEN_REG(holder);
    fprintf(out, "lock: %llu acquisitions, %llu recoveries, %llu claims taken from dead writers\n",
            (unsigned long long)st.lock_acquisitions, (unsigned long long)st.lock_recoveries,
            (unsigned long long)st.claim_takeovers);
    if (reg && reg <= MMF_REGS)
        fprintf(out, "explicit lock held by registration %u (pid %u)\n", reg - 1,
                load32_relaxed(&ns->regs[reg - 1].pid));
    fprintf(out, "attached: %llu process%s\n", (unsigned long long)st.attached,
            st.attached == 1 ? "" : "es");
    fprintf(out, "heap blocks:\n  %12s  %10s  state\n", "offset", "size");
    if (mmfa_walk(&ns->heap, dump_block, out)) fprintf(out, "  (the heap is damaged here)\n");
    fprintf(out, "free lists:\n");
    for (unsigned k = 0; k <= g->heap.max_order; k++) {
        uint64_t n = load_relaxed(&hp->free_count[k]);
        if (!n) continue;
        fprintf(out, "  %10llu bytes: %llu block%s, first at %llu\n",
                (unsigned long long)mmfa_block_size(k), (unsigned long long)n, n == 1 ? "" : "s",
                (unsigned long long)load_relaxed(&hp->free_head[k]));
    }
    fprintf(out, "variables:\n  %8s  %10s  %8s  %-24s  value\n", "slot", "version", "length",
            "key");
    unsigned char val[64];
    char key[MMF_KEY_MAX + 1];
    uint64_t nslots = load_relaxed(&ns->t.nslots); /* refreshed by mmf_stat above */
    for (uint64_t i = 0; i < nslots; i++) {
        struct mmf_read_ctx ctx = mmf__read_ctx(ns);
        mmfi_stall stall = mmf__read_stall_on(&ctx);
        mmfi_hit hit;
        int r = mmfi_read_slot(&ns->t, i, key, val, sizeof val, &hit, &stall);
        if (r == MMFI_MISSING) continue;
        if (r < 0) {
            fprintf(out, "  slot %llu: (damaged)\n", (unsigned long long)i);
            continue;
        }
        fprintf(out, "  %8llu  %10llu  %8zu  %-24s  ", (unsigned long long)hit.slot,
                (unsigned long long)hit.version, hit.len, key);
        if (r == MMFI_SMALL) { /* longer than the preview: read its start */
            unsigned char *big = malloc(hit.len);
            if (big && mmfi_read_slot(&ns->t, i, key, big, hit.len, &hit, &stall) == MMFI_FOUND)
                dump_preview(out, big, hit.len);
            free(big);
        } else {
            dump_preview(out, val, hit.len);
        }
        fputc('\n', out);
    }
}

int mmf_dump(mmf *ns, FILE *out) {
    if (!ns || !out) return MMF_EINVAL;
    if (ns->readonly) { /* cannot take the mutex: a snapshot taken while writers run */
        dump_locked(ns, out);
        return MMF_OK;
    }
    int rc = mmf__mutex_lock_timed(ns);
    if (rc) return rc;
    dump_locked(ns, out);
    mmf__mutex_unlock(ns);
    return MMF_OK;
}
