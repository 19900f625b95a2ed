#include <string.h>

#include "../include/mmf.h"

const char *mmf_strerror(int err) {
    switch (err) {
    case MMF_OK:
        return "success";
    case MMF_ENOTFOUND:
        return "no such variable";
    case MMF_ENOENT:
        return "no such namespace";
    case MMF_EEXIST:
        return "namespace already exists";
    case MMF_ENOSPC:
        return "no space left in the namespace";
    case MMF_ETIMEDOUT:
        return "timed out";
    case MMF_ERANGE:
        return "buffer too small for the value";
    case MMF_EINVAL:
        return "invalid argument";
    case MMF_ECORRUPT:
        return "namespace failed validation (corrupt)";
    case MMF_EVERSION:
        return "namespace has another layout version";
    case MMF_ECONFLICT:
        return "version did not match";
    case MMF_EPERM:
        return "permission denied";
    case MMF_ENOLOCK:
        return "the namespace lock is not held";
    case MMF_ESYS:
        return "operating system error";
    case MMF_ENOMEM:
        return "out of memory";
    default:
        return err > 0 ? strerror(err) : "unknown error";
    }
}
