/* mmf_open_spec: options as one line of text, and the sizes in it (see mmf.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define SPEC_MAX 4096

static int parse_bool(const char *v, bool *out) {
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) return *out = true, MMF_OK;
        if (!strcasecmp(v, no[i])) return *out = false, MMF_OK;
    }
    return MMF_EINVAL;
}

int mmf_parse_size(const char *v, uint64_t *out) {
    char *end;
    errno = 0;
    if (!v || !out || !isdigit((unsigned char)v[0])) return MMF_EINVAL;
    unsigned long long n = strtoull(v, &end, 10);
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case 'K':
        shift = 10;
        end++;
        break;
    case 'M':
        shift = 20;
        end++;
        break;
    case 'G':
        shift = 30;
        end++;
        break;
    default:
        break;
    }
    if (toupper((unsigned char)*end) == 'B') end++;
    if (errno || *end || n > (UINT64_MAX >> shift)) return MMF_EINVAL;
    *out = (uint64_t)n << shift;
    return MMF_OK;
}

static int parse_u32(const char *v, int base, uint32_t *out) {
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)v[0])) return MMF_EINVAL;
    unsigned long n = strtoul(v, &end, base);
    if (errno || *end || n > UINT32_MAX) return MMF_EINVAL;
    *out = (uint32_t)n;
    return MMF_OK;
}

static int parse_seconds(const char *v, double *out) {
    char *end;
    double t = strtod(v, &end);
    if (end == v || *end || !isfinite(t) || t < 0) return MMF_EINVAL;
    *out = t;
    return MMF_OK;
}

static int set_option(mmf_options *o, const char *k, const char *v) {
    if (!strcasecmp(k, "name") || !strcasecmp(k, "namespace")) {
        o->name = v;
        return MMF_OK;
    }
    if (!strcasecmp(k, "path") || !strcasecmp(k, "swapfile")) {
        o->path = *v ? v : NULL;
        return MMF_OK;
    }
    if (!strcasecmp(k, "size")) return mmf_parse_size(v, &o->size);
    if (!strcasecmp(k, "max_vars")) return parse_u32(v, 10, &o->max_vars);
    if (!strcasecmp(k, "mode")) return parse_u32(v, 8, &o->mode);
    if (!strcasecmp(k, "reuse")) return parse_bool(v, &o->reuse);
    if (!strcasecmp(k, "exclusive")) return parse_bool(v, &o->exclusive);
    if (!strcasecmp(k, "autolock")) return parse_bool(v, &o->autolock);
    if (!strcasecmp(k, "debug")) return parse_bool(v, &o->debug);
    if (!strcasecmp(k, "max_size")) return mmf_parse_size(v, &o->max_size);
    if (!strcasecmp(k, "readonly")) return parse_bool(v, &o->readonly);
    if (!strcasecmp(k, "transient")) return parse_bool(v, &o->transient);
    if (!strcasecmp(k, "timeout")) return parse_seconds(v, &o->timeout);
    if (!strcasecmp(k, "spin")) return parse_seconds(v, &o->spin);
    return MMF_EINVAL;
}

int mmf_parse_spec(const char *spec, mmf_options *opt, char *buf, size_t bufsize) {
    if (!opt || !buf) return MMF_EINVAL;
    if (!spec || strlen(spec) >= bufsize) return MMF_EINVAL;
    strcpy(buf, spec);
    mmf_options o = MMF_OPTIONS_INIT;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \t\n,", &save); tok; tok = strtok_r(NULL, " \t\n,", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return MMF_EINVAL;
        *eq = '\0';
        if (*tok == '-') tok++;
        int rc = set_option(&o, tok, eq + 1);
        if (rc) return rc;
    }
    *opt = o;
    return MMF_OK;
}

int mmf_open_spec(const char *spec, mmf **out) {
    char buf[SPEC_MAX];
    mmf_options o;
    int rc = mmf_parse_spec(spec, &o, buf, sizeof buf);
    return rc ? rc : mmf_open(&o, out);
}
