/* What a harness run writes: the table, the targets, JSON, plots. */
#ifndef MMF_BENCH_REPORT_H
#define MMF_BENCH_REPORT_H

#include <stdio.h>

#include "workload.h"

typedef struct bench_run {
    const bench_cfg *cfg;
    double seconds, rate, clock_ns;
    const char *skipped[8]; /* "system: why", for systems that could not run */
    int nskipped;
    run_result *results;
    int n;
    uint64_t churn_pairs; /* churn and growth (structural.c); 0: not run */
    unsigned fill;
    churn_result *churn;
    int nchurn;
    growth_result *growth;
    int ngrowth;
} bench_run;

/* the run of system on workload, or NULL */
const run_result *report_find(const bench_run *r, const char *system, const char *workload);

void report_table(FILE *out, const bench_run *r);
/* churn and growth: their tables and the ratios to LMDB's, from the same run */
void report_structural(FILE *out, const bench_run *r);
void report_targets(FILE *out, const bench_run *r);
void report_json(FILE *out, const bench_run *r);
/* PNGs in dir through gnuplot; returns 0, or -1 with a message if it cannot */
int report_plots(const char *dir, const bench_run *r);

#endif
