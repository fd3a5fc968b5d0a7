/* Standard base64 (base64.h). */
#include "util/base64.h"

#include <nettle/base64.h>

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
