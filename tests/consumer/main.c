/* Uses the installed header and library: exits 0 if a value round-trips. */
#include <mmf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    char name[64], spec[96], buf[16];
    snprintf(name, sizeof name, "mmf-consumer.%d", (int)getpid());
    snprintf(spec, sizeof spec, "name=%s size=256K", name);
    mmf *ns;
    int rc = mmf_open_spec(spec, &ns);
    if (rc) {
        fprintf(stderr, "consumer: %s\n", mmf_strerror(rc));
        return 1;
    }
    size_t len = 0;
    rc = mmf_set(ns, "hello", "world", 5);
    if (!rc) rc = mmf_get(ns, "hello", buf, sizeof buf, &len);
    mmf_close(ns);
    mmf_unlink(name, NULL);
    if (rc || len != 5 || memcmp(buf, "world", 5)) return 1;
    printf("consumer: mmf %s installed and working\n", mmf_version());
    return 0;
}
