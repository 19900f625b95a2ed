/* Who is calling: the process token (fork-aware) and the explicit lock. */
#include <unistd.h>

#include "internal.h"

uint64_t mmf__token(mmf *ns) {
    struct mmf_self *me = ns->self;
    /* relaxed: the token is this process's own; threads racing to fill it
       compute the same value */
    uint64_t t = load_relaxed(&me->token);
    if (t && (me->wipes || me->pid == getpid())) return t;
    t = mmf__process_token();
    if (!me->wipes) me->pid = getpid();
    store_relaxed(&me->token, t);
    return t;
}

bool mmf__holds_lock(mmf *ns) {
    /* relaxed: only the holder can find its own token and thread here, and
       it wrote them itself */
    return load_relaxed(&ns->hdr->lock_owner) == mmf__token(ns) &&
           load_relaxed(&ns->hdr->lock_thread) == (uint64_t)pthread_self();
}
