/*
 * The creation race: 16 processes open-or-create one namespace at the same
 * instant, 100 rounds (MMF_SOAK_ROUNDS). Exactly one creates it (the creator says so with
 * debug on), all of them see the same namespace, none fails.
 */
#include "testutil.h"

#define PROCS 16

static void test_sixteen_processes_hundred_rounds(void) {
    char name[128];
    unique_name(name, sizeof name, "race");
    long rounds = soak_count("MMF_SOAK_ROUNDS", 100);
    int *creations_seen = calloc((size_t)rounds, sizeof *creations_seen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(creations_seen);
    for (long round = 0; round < rounds; round++) {
        mmf_unlink(name, NULL);
        int gate[2], log[2];
        CU_ASSERT_FATAL(pipe(gate) == 0 && pipe(log) == 0);
        pid_t pids[PROCS];
        for (int p = 0; p < PROCS; p++) {
            if ((pids[p] = fork()) == 0) {
                close(gate[1]);
                close(log[0]);
                dup2(log[1], 2); /* debug lines go to the parent */
                char c;
                CHILD_REQUIRE(read(gate[0], &c, 1) == 0); /* all go when the gate closes */
                mmf_options o = MMF_OPTIONS_INIT;
                o.name = name;
                o.size = 256 << 10;
                o.debug = true;
                mmf *ns;
                CHILD_REQUIRE(mmf_open(&o, &ns) == MMF_OK);
                char key[16];
                snprintf(key, sizeof key, "p%d", p);
                CHILD_REQUIRE(mmf_set(ns, key, &p, sizeof p) == MMF_OK);
                mmf_close(ns);
                _exit(0);
            }
        }
        close(gate[0]);
        close(log[1]);
        close(gate[1]); /* go */
        char buf[65536];
        size_t n = 0;
        ssize_t got;
        while ((got = read(log[0], buf + n, sizeof buf - 1 - n)) > 0)
            n += (size_t)got;
        buf[n] = '\0';
        close(log[0]);
        int failed = 0;
        for (int p = 0; p < PROCS; p++)
            failed += wait_child(pids[p]) != 0;
        CU_ASSERT_EQUAL(failed, 0);
        int created = 0;
        for (char *s = buf; (s = strstr(s, "]: created ")); s++)
            created++;
        creations_seen[round] = created;
        CU_ASSERT_EQUAL(created, 1);
        mmf_options o = MMF_OPTIONS_INIT;
        o.name = name;
        o.reuse = true;
        mmf *ns;
        CU_ASSERT_EQUAL_FATAL(mmf_open(&o, &ns), MMF_OK);
        mmf_stats st;
        mmf_stat(ns, &st);
        CU_ASSERT_EQUAL(st.vars, PROCS); /* everyone wrote into the same one */
        CU_ASSERT_EQUAL(mmf_check(ns, NULL), MMF_OK);
        mmf_close(ns);
    }
    mmf_unlink(name, NULL);
    long ones = 0;
    for (long r = 0; r < rounds; r++)
        ones += creations_seen[r] == 1;
    free(creations_seen);
    printf("\n  %ld rounds of %d processes: one creator in %ld of them\n", rounds, PROCS, ones);
}

int main(void) {
    static const test_case tests[] = {
        {"16 processes open-or-create at once, 100 rounds (MMF_SOAK_ROUNDS)",
         test_sixteen_processes_hundred_rounds},
        {NULL, NULL}};
    return run_suite("creation race", tests);
}
