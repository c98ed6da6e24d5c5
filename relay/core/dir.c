#include "relay/core/dir.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tsr_mkdir_p(const char *dir)
{
    char *p, *path = strdup(dir);
    struct stat st;
    int rc = -1;

    if (!path) abort();
    for (p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0750) != 0 && errno != EEXIST) goto leave;
        *p = '/';
    }
    if (mkdir(path, 0750) != 0 && errno != EEXIST) goto leave;
    /* EEXIST also covers a plain file of that name, which LMDB could not use. */
    if (stat(path, &st) != 0) goto leave;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        goto leave;
    }
    rc = 0;
leave:
    free(path);
    return rc;
}
