#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "report.h"

static const char *systems[] = {"mmf", "mmf-var", "mmf-spin", "lmdb", "redis", "pipe"};
#define NSYSTEMS 6

const run_result *report_find(const bench_run *r, const char *system, const char *workload) {
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->results[i].system, system) && !strcmp(r->results[i].workload, workload) &&
            !r->results[i].skipped)
            return &r->results[i];
    return NULL;
}

static void fmt_ns(char *buf, size_t n, uint64_t ns) {
    if (ns < 10000)
        snprintf(buf, n, "%llu ns", (unsigned long long)ns);
    else if (ns < 10000000)
        snprintf(buf, n, "%.1f us", (double)ns / 1e3);
    else
        snprintf(buf, n, "%.1f ms", (double)ns / 1e6);
}

static void fmt_rate(char *buf, size_t n, double r) {
    if (r >= 1e6)
        snprintf(buf, n, "%.2fM", r / 1e6);
    else if (r >= 1e3)
        snprintf(buf, n, "%.1fk", r / 1e3);
    else
        snprintf(buf, n, "%.0f", r);
}

static int is_latency_workload(workload_kind k) {
    return k == W_PINGPONG || k == W_PUBLISH;
}

void report_table(FILE *out, const bench_run *r) {
    fprintf(out,
            "| workload | system | procs | ops/s | p50 | p90 | p99 | p99.9 | max | vs mmf |\n");
    fprintf(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    const char *last = "";
    for (int i = 0; i < r->n; i++) {
        const run_result *x = &r->results[i];
        if (x->skipped) continue;
        const run_result *m = report_find(r, "mmf", x->workload);
        char ops[32], a[24], b[24], c[24], d[24], e[24], vs[64] = "";
        fmt_rate(ops, sizeof ops, x->ops_per_s);
        fmt_ns(a, sizeof a, x->p50);
        fmt_ns(b, sizeof b, x->p90);
        fmt_ns(c, sizeof c, x->p99);
        fmt_ns(d, sizeof d, x->p999);
        fmt_ns(e, sizeof e, x->max);
        if (m && m != x) {
            if (is_latency_workload(x->kind))
                snprintf(vs, sizeof vs, "p50 %.1fx mmf's", (double)x->p50 / (double)m->p50);
            else
                snprintf(vs, sizeof vs, "%.3gx the ops/s, p50 %.1fx", x->ops_per_s / m->ops_per_s,
                         (double)x->p50 / (double)m->p50);
        }
        fprintf(out, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s |%s\n",
                strcmp(last, x->workload) ? x->workload : "", x->system, x->procs,
                is_latency_workload(x->kind) ? "-" : ops, a, b, c, d, e, vs,
                x->errors ? " errors!" : "");
        last = x->workload;
    }
    for (int i = 0; i < r->nskipped; i++)
        fprintf(out, "\nnot run: %s\n", r->skipped[i]);
}

static void target(FILE *out, const char *what, double got, double want, int at_least,
                   const char *unit) {
    int met = at_least ? got >= want : got <= want;
    fprintf(out, "- %s: %.2f%s (target %s %.2f%s) — %s\n", what, got, unit,
            at_least ? ">=" : "<=", want, unit, met ? "met" : "NOT met");
}

void report_targets(FILE *out, const bench_run *r) {
    const run_result *m1 = report_find(r, "mmf", "read-only x1");
    const run_result *m2 = report_find(r, "mmf", "read-only x2");
    const run_result *l1 = report_find(r, "lmdb", "read-only x1");
    const run_result *r1 = report_find(r, "redis", "read-only x1");
    const run_result *hot = report_find(r, "mmf", "hot writer, other keys");
    fprintf(out, "Targets, from this run:\n");
    if (m1 && l1)
        target(out, "mmf get vs LMDB get, p50 latency", (double)l1->p50 / (double)m1->p50, 5, 1,
               "x faster");
    if (m1 && r1)
        target(out, "mmf get vs Redis GET (unix socket), p50 latency",
               (double)r1->p50 / (double)m1->p50, 50, 1, "x faster");
    if (m1 && m2)
        target(out, "2 reader processes vs 1, reads per second", m2->ops_per_s / m1->ops_per_s, 1.7,
               1, "x");
    if (m1 && hot) {
        target(out, "a reader beside a hot writer vs alone, reads per second",
               hot->ops_per_s / m1->ops_per_s, 0.8, 1, "x");
        target(out, "beside a hot writer, p99.9 / p50 get latency",
               (double)hot->p999 / (double)hot->p50, 10, 0, "x");
    }
    fprintf(out,
            "(latencies are net of the %.0f ns that reading the clock twice costs here; "
            "the floor comparison is mmf-bench-micro's)\n",
            r->clock_ns);
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', out);
        if ((unsigned char)*s >= 32) fputc(*s, out);
    }
    fputc('"', out);
}

static void machine(FILE *out) {
    struct utsname u;
    uname(&u);
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = '\0';
            break;
        }
    if (f) fclose(f);
    fprintf(out, "\"machine\":{\"kernel\":");
    json_string(out, u.release);
    fprintf(out, ",\"arch\":");
    json_string(out, u.machine);
    fprintf(out, ",\"cpu\":");
    json_string(out, model);
    fprintf(out, ",\"cores\":%ld,\"memory_bytes\":%ld}", sysconf(_SC_NPROCESSORS_ONLN),
            sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE));
}

void report_json(FILE *out, const bench_run *r) {
    fprintf(out, "{");
    machine(out);
    fprintf(out,
            ",\n\"config\":{\"keys\":%u,\"value_bytes\":%u,\"seconds\":%.2f,\"rate\":%.0f,"
            "\"clock_overhead_ns\":%.1f},\n\"not_run\":[",
            r->cfg->keys, r->cfg->value, r->seconds, r->rate, r->clock_ns);
    for (int i = 0; i < r->nskipped; i++) {
        if (i) fputc(',', out);
        json_string(out, r->skipped[i]);
    }
    fprintf(out, "],\n\"runs\":[");
    for (int i = 0; i < r->n; i++) {
        const run_result *x = &r->results[i];
        fprintf(out, "%s\n {\"system\":", i ? "," : "");
        json_string(out, x->system);
        fprintf(out, ",\"workload\":");
        json_string(out, x->workload);
        if (x->skipped) {
            fprintf(out, ",\"skipped\":");
            json_string(out, x->why);
            fputc('}', out);
            continue;
        }
        fprintf(
            out,
            ",\"processes\":%d,\"ops\":%llu,\"errors\":%llu,\"ops_per_s\":%.1f,"
            "\"latency_ns\":{\"p50\":%llu,\"p90\":%llu,\"p99\":%llu,\"p99.9\":%llu,\"max\":%llu},"
            "\"per_process\":[",
            x->procs, (unsigned long long)x->ops, (unsigned long long)x->errors, x->ops_per_s,
            (unsigned long long)x->p50, (unsigned long long)x->p90, (unsigned long long)x->p99,
            (unsigned long long)x->p999, (unsigned long long)x->max);
        for (int p = 0; p < x->procs; p++) {
            const proc_result *pr = &x->per[p];
            fprintf(out,
                    "%s{\"measured\":%s,\"ops\":%llu,\"ops_per_s\":%.1f,\"p50\":%llu,\"p99\":%llu,"
                    "\"p99.9\":%llu,\"max\":%llu}",
                    p ? "," : "", pr->measured ? "true" : "false", (unsigned long long)pr->ops,
                    pr->seconds > 0 ? (double)pr->ops / pr->seconds : 0,
                    (unsigned long long)hist_percentile(&pr->h, 0.5),
                    (unsigned long long)hist_percentile(&pr->h, 0.99),
                    (unsigned long long)hist_percentile(&pr->h, 0.999),
                    (unsigned long long)pr->h.max);
        }
        fprintf(out, "]}");
    }
    fprintf(out, "\n]}\n");
}

int report_plots(const char *dir, const bench_run *r) {
    if (access("/usr/bin/gnuplot", X_OK)) {
        fprintf(stderr, "mmf-bench: gnuplot is not installed: no plots\n");
        return -1;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/latency.dat", dir);
    FILE *f = fopen(path, "w");
    static const char *pct[] = {"p50", "p90", "p99", "p99.9", "max"};
    fprintf(f, "percentile");
    for (int s = 0; s < NSYSTEMS; s++)
        fprintf(f, " %s", systems[s]);
    fputc('\n', f);
    for (int p = 0; p < 5; p++) {
        fprintf(f, "%s", pct[p]);
        for (int s = 0; s < NSYSTEMS; s++) {
            const run_result *x = report_find(r, systems[s], "read-only x1");
            uint64_t v = !x       ? 0
                         : p == 0 ? x->p50
                         : p == 1 ? x->p90
                         : p == 2 ? x->p99
                         : p == 3 ? x->p999
                                  : x->max;
            if (v)
                fprintf(f, " %llu", (unsigned long long)v);
            else
                fprintf(f, " NaN");
        }
        fputc('\n', f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/scaling.dat", dir);
    f = fopen(path, "w");
    fprintf(f, "procs mmf lmdb redis\n");
    for (int n = 1; n <= 4; n++) {
        char w[32];
        snprintf(w, sizeof w, "read-only x%d", n);
        fprintf(f, "%d", n);
        for (int s = 0; s < 3; s++) {
            const run_result *x = report_find(r, systems[s], w);
            if (x)
                fprintf(f, " %.0f", x->ops_per_s);
            else
                fprintf(f, " NaN");
        }
        fputc('\n', f);
    }
    fclose(f);
    snprintf(path, sizeof path, "%s/plots.gp", dir);
    f = fopen(path, "w");
    fprintf(
        f,
        "set terminal png size 900,560\n"
        "set datafile missing 'NaN'\n"
        "set output '%s/latency.png'\n"
        "set title 'get latency by percentile, 1 reader process (log scale)'\n"
        "set logscale y\nset yrange [10:*]\nset ylabel 'nanoseconds'\nset grid\nset key top left\n"
        "set style data histograms\nset style fill solid 0.8\n"
        "plot for [i=2:4] '%s/latency.dat' using i:xtic(1) title columnheader(i)\n"
        "unset logscale y\nset autoscale y\nset style data linespoints\n"
        "set output '%s/scaling.png'\n"
        "set title 'reads per second against reader processes (%ld cores)'\n"
        "set xlabel 'reader processes'\nset ylabel 'gets per second'\nset xtics 1\n"
        "set logscale y\n"
        "plot for [i=2:4] '%s/scaling.dat' using 1:i title columnheader(i) lw 2\n",
        dir, dir, dir, sysconf(_SC_NPROCESSORS_ONLN), dir);
    fclose(f);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gnuplot '%s/plots.gp' 2>&1", dir);
    return system(cmd) == 0 ? 0 : -1;
}
