/* relay/core/version.h — the one version string of tsrelay and tsrelayctl. */
#ifndef TSR_VERSION_H
#define TSR_VERSION_H

#define TSR_VERSION "0.1.0"

#endif
