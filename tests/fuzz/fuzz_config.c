/* tests/fuzz/fuzz_config.c — libFuzzer target for config/config.c and config/schema.c.
 *
 * The input is a tsrelay.yaml, handed to tsr_config_load_string. Besides the sanitizers
 * (the loader walks libyaml's events and the schema table, with its defaults, bounds and
 * validators), it checks the loader's contract: 0 with a config, which tsr_config_free
 * releases and NULLs, or -1 with NULL and one non-empty message.
 * The loader also reads *_file secrets and *_env variables; the fuzzer runs from the
 * repository root with an empty environment for those, so a path it invents reads at
 * most a file of the checkout or fails.
 * Build and run with tests/fuzz/run.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy that is not NUL-terminated: the loader must stop at len. */
    char *yaml = malloc(size ? size : 1);
    memcpy(yaml, data, size);
    struct tsr_config *cf = NULL;
    char err[512] = "";
    int rc = tsr_config_load_string(yaml, size, "fuzz.yaml", &cf, err, sizeof(err));
    free(yaml);
    if (rc == 0) {
        CHECK(cf != NULL);
        tsr_config_free(&cf);
        CHECK(cf == NULL);
    } else {
        CHECK(rc == -1 && cf == NULL && err[0] != '\0');
        CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    }
    return 0;
}
