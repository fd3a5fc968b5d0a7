/* Standard base64 with padding (nettle's), as Go's StdEncoding writes it. */
#ifndef ISOBOX_UTIL_BASE64_H
#define ISOBOX_UTIL_BASE64_H

#include <stddef.h>

/* data's base64, NUL-ended (malloc'ed). */
char *base64_encode(const void *data, size_t n);
/* s decoded as Go's StdEncoding reads it (the standard alphabet, padded,
 * nothing else): the bytes, NUL-ended (malloc'ed), their count in *len; NULL
 * when s is not that. base64url_decode: the URL alphabet ('-', '_'), padded
 * or not (docker's X-Registry-Auth). */
char *base64_decode(const char *s, size_t *len);
char *base64url_decode(const char *s, size_t *len);

#endif
