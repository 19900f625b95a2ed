/* mmf: inspect and operate mmf namespaces from the shell. */
#include <string.h>

#include "cli.h"

static const cli_command *const tables[] = {cli_ns_commands, cli_var_commands};

static const cli_command *find(const char *name) {
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const cli_command *c = tables[t]; c->name; c++)
            if (!strcmp(c->name, name)) return c;
    return NULL;
}

static void usage(FILE *out) {
    fputs("usage: mmf COMMAND [ARGS...]\n\n", out);
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const cli_command *c = tables[t]; c->name; c++)
            fprintf(out, "  mmf %-6s %s\n", c->name, c->synopsis);
    fputs("\nNS is a namespace name (POSIX shared memory, /dev/shm/NAME) or a spec such as\n"
          "\"name=X path=/some/file\". 'mmf COMMAND --help' tells more.\n\n"
          "get, ls, stat, dump and watch attach read-only: they never write to the\n"
          "namespace and need only read permission. The other commands need read and write.\n\n"
          "Exit status: 0 success, 1 variable not found, 2 usage error, 3 other errors\n"
          "(the reason is one line on stderr).\n",
          out);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("mmf: usage: mmf COMMAND [ARGS...] (see 'mmf --help')\n", stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mmf %s\n", mmf_version());
        return EXIT_OK;
    }
    const cli_command *c = find(argv[1]);
    if (!c) {
        fprintf(stderr, "mmf: unknown command '%s' (see 'mmf --help')\n", argv[1]);
        return EXIT_USAGE;
    }
    if (cli_wants_help(argc - 2, argv + 2)) {
        printf("usage: mmf %s %s\n\n%s\n", c->name, c->synopsis, c->help);
        return EXIT_OK;
    }
    return c->run(argc - 2, argv + 2);
}
