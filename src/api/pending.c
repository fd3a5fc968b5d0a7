/* Bytes a body's reader made and has not handed out yet (api.h). */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "util/fs.h"

void api_pending_add(struct api_pending *p, const void *data, size_t len)
{
	p->data = xrealloc(p->data, p->len + len + 1);
	memcpy(p->data + p->len, data, len);
	p->len += len;
}

size_t api_pending_take(struct api_pending *p, char *buf, size_t max)
{
	size_t n = p->len - p->off;

	if (n > max)
		n = max;
	memcpy(buf, p->data + p->off, n);
	p->off += n;
	if (p->off == p->len)
		api_pending_free(p);
	return n;
}

void api_pending_free(struct api_pending *p)
{
	free(p->data);
	*p = (struct api_pending){ 0 };
}
