/* Standard base64 (base64.h). */
#include "util/base64.h"

#include <nettle/base64.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

char *base64_encode(const void *data, size_t n)
{
	struct base64_encode_ctx ctx;
	char *out = xmalloc(BASE64_ENCODE_LENGTH(n) + BASE64_ENCODE_FINAL_LENGTH + 1);
	size_t len;

	base64_encode_init(&ctx);
	len = base64_encode_update(&ctx, out, n, data);
	len += base64_encode_final(&ctx, out + len);
	out[len] = '\0';
	return out;
}

/* s in one alphabet (c62, c63 its last two), its padding as Go's: = only at
 * the end, at most two, and the length a multiple of 4 when padded (or,
 * when padding is optional, never one past one). */
static bool well_formed(const char *s, char c62, char c63, bool pad_optional)
{
	size_t n = strlen(s), pad = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '=') {
			if (i + 2 < n || ++pad > 2)
				return false;
			continue;
		}
		if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == c62 || c == c63))
			return false;
	}
	return pad_optional && !pad ? n % 4 != 1 : n % 4 == 0;
}

static char *decode(const char *s, bool url, size_t *out_len)
{
	size_t n = strlen(s), len;
	struct base64_decode_ctx ctx;
	char *out;

	len = BASE64_DECODE_LENGTH(n);
	out = xmalloc(len + 1);
	if (url)
		base64url_decode_init(&ctx);
	else
		base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &len, (uint8_t *)out, n, s) ||
	    !base64_decode_final(&ctx)) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	*out_len = len;
	return out;
}

char *base64_decode(const char *s, size_t *len)
{
	return well_formed(s, '+', '/', false) ? decode(s, false, len) : NULL;
}

char *base64url_decode(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *padded, *out;

	if (!well_formed(s, '-', '_', true))
		return NULL;
	padded = xmalloc(n + 4);         /* nettle wants the padding */
	memcpy(padded, s, n);
	while (n % 4)
		padded[n++] = '=';
	padded[n] = 0;
	out = decode(padded, true, len);
	free(padded);
	return out;
}
