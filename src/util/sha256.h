/* SHA-256 (nettle) as lowercase hex: content addresses and cache keys. */
#ifndef ISOBOX_SHA256_H
#define ISOBOX_SHA256_H

#include <stddef.h>
#include <nettle/sha2.h>

#define SHA256_HEX_LEN 64

struct sha256 {
	struct sha256_ctx ctx;
};

void sha256_begin(struct sha256 *s);
void sha256_add(struct sha256 *s, const void *data, size_t len);
/* Finish into out (65 bytes: 64 hex digits and a NUL). */
void sha256_end_hex(struct sha256 *s, char out[SHA256_HEX_LEN + 1]);

#endif
