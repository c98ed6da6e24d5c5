/* relay/core/dir.h — directories the relay keeps its state in. Any thread. */
#ifndef TSR_DIR_H
#define TSR_DIR_H

/* mkdir -p with mode 0750 for what it creates. Returns 0, or -1 with errno set (ENOTDIR
 * when dir, or a parent, is a file). */
int tsr_mkdir_p(const char *dir);

#endif
