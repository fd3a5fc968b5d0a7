/* The isobox release: `isobox version`, the API's /version. */
#ifndef ISOBOX_VERSION_H
#define ISOBOX_VERSION_H

#define ISOBOX_VERSION "0.1.0"

#endif
