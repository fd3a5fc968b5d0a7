/* Standard base64 with padding (nettle's), as Go's StdEncoding writes it. */
#ifndef ISOBOX_UTIL_BASE64_H
#define ISOBOX_UTIL_BASE64_H

#include <stddef.h>

/* data's base64, NUL-ended (malloc'ed). */
char *base64_encode(const void *data, size_t n);

#endif
