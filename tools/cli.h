/* The mmf command-line tool: shared helpers. Written on the public API only. */
#ifndef MMF_TOOLS_CLI_H
#define MMF_TOOLS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mmf.h"

/* exit statuses, as documented in --help and the README */
enum { EXIT_OK = 0, EXIT_NOTFOUND = 1, EXIT_USAGE = 2, EXIT_ERROR = 3 };

/* A command: its name, one line of synopsis, a paragraph of help, and the
   function that runs it with the arguments after its name. */
typedef struct cli_command {
    const char *name, *synopsis, *help;
    int (*run)(int argc, char **argv);
} cli_command;

/* NULL-terminated tables, in cmd_vars.c and cmd_namespace.c */
extern const cli_command cli_var_commands[], cli_ns_commands[];

/* Reports err for cmd on stderr and returns its exit status. */
int cli_fail(const char *cmd, int err);
/* Reports a usage error for cmd on stderr and returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How a command opens a namespace: read commands never write to the mapping
   and need only read permission; the others need read and write. */
enum cli_access { CLI_READ, CLI_WRITE };

/* The options NS stands for: a name (the others as MMF_OPTIONS_INIT) or a
   spec ("name=X path=F", strings kept in buf). Returns 0 or an MMF_E* code. */
int cli_ns_options(const char *ns_arg, mmf_options *o, char *buf, size_t n);
/* Opens an existing namespace for cmd: NS as cli_ns_options takes it.
   Returns 0, or the exit status after saying why on stderr. */
int cli_open(const char *cmd, const char *ns_arg, enum cli_access access, mmf **out);

/* An option of a command: a flag (value NULL) or one that takes a value. */
typedef struct cli_opt {
    const char *name; /* "--json" */
    bool *set;        /* set to true when given */
    const char **value;
} cli_opt;

/* Parses argv: options (NULL-terminated opts) anywhere, "--" ends them, the
   rest are positionals (between min and max of them, into pos). Returns 0,
   or EXIT_USAGE after saying why. */
int cli_parse(const char *cmd, int argc, char **argv, const cli_opt *opts, const char **pos,
              int min, int max, int *npos);
bool cli_wants_help(int argc, char **argv);
/* A whole decimal number. (Sizes with K/M/G: mmf_parse_size.) */
bool cli_number(const char *s, uint64_t *out);

/* "1.5M", "640K", "12" */
void cli_human_size(char *buf, size_t n, uint64_t bytes);
/* A printable preview: at most max bytes, others as \xNN, cut with "...". */
void cli_preview(FILE *out, const void *val, size_t len, size_t max);
/* A JSON string of the bytes (each byte a code point, \u00NN if needed). */
void cli_json_string(FILE *out, const void *val, size_t len);
void cli_hex(FILE *out, const void *val, size_t len);

/* Reads all of stdin; *len its length. NULL when out of memory. */
unsigned char *cli_read_stdin(size_t *len);

#endif
