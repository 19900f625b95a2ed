/* Argument checks shared by the public functions. */
#include <string.h>

#include "internal.h"

_Static_assert(MMF_KEY_MAX == MMF_KEY_LIMIT, "the public key limit is the layout's");

int mmf__check_key(const char *key, size_t *klen) {
    if (!key) return MMF_EINVAL;
    size_t n = strnlen(key, MMF_KEY_MAX + 1);
    if (n == 0 || n > MMF_KEY_MAX) return MMF_EINVAL;
    *klen = n;
    return MMF_OK;
}

int mmf__check_name(const char *name) {
    if (!name) return MMF_EINVAL;
    size_t n = strnlen(name, MMF_NAME_MAX + 1);
    if (n == 0 || n > MMF_NAME_MAX || name[0] == '.' || strstr(name, "..")) return MMF_EINVAL;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return MMF_EINVAL;
    }
    return MMF_OK;
}

int mmf__map_index_rc(int rc) {
    switch (rc) {
    case MMFI_FOUND:
        return MMF_OK;
    case MMFI_MISSING:
        return MMF_ENOTFOUND;
    case MMFI_SMALL:
        return MMF_ERANGE;
    case MMFI_ENOSPC:
        return MMF_ENOSPC;
    default:
        return MMF_ECORRUPT;
    }
}
