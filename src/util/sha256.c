#include "util/sha256.h"

void sha256_begin(struct sha256 *s)
{
	sha256_init(&s->ctx);
}

void sha256_add(struct sha256 *s, const void *data, size_t len)
{
	sha256_update(&s->ctx, len, data);
}

void sha256_end_hex(struct sha256 *s, char out[SHA256_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_SIZE];
	int i;

	sha256_digest(&s->ctx, sizeof(md), md);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[SHA256_HEX_LEN] = '\0';
}
