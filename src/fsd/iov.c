/* A request and its reply as byte streams over iovecs: a virtqueue chain's
 * readable and writable buffers, in order. */
#include <string.h>

#include "fsd/server.h"

size_t fsd_iov_total(const struct iovec *iov, unsigned n)
{
	size_t t = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy between the stream at off and a flat buffer, in either direction. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t off, void *flat, size_t len,
		       bool to_iov)
{
	size_t done = 0, take;
	unsigned i;

	for (i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len - done)
			take = len - done;
		if (to_iov)
			memcpy((char *)iov[i].iov_base + off, (char *)flat + done, take);
		else
			memcpy((char *)flat + done, (char *)iov[i].iov_base + off, take);
		done += take;
		off = 0;
	}
	return done;
}

size_t fsd_iov_read(const struct iovec *iov, unsigned n, size_t off, void *dst, size_t len)
{
	return iov_copy(iov, n, off, dst, len, false);
}

size_t fsd_iov_write(const struct iovec *iov, unsigned n, size_t off, const void *src,
		     size_t len)
{
	return iov_copy(iov, n, off, (void *)src, len, true);
}

unsigned fsd_iov_slice(const struct iovec *iov, unsigned n, size_t off, size_t len,
		       struct iovec *dst, unsigned max)
{
	unsigned i, k = 0;
	size_t take;

	for (i = 0; i < n && len > 0 && k < max; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		dst[k].iov_base = (char *)iov[i].iov_base + off;
		dst[k].iov_len = take;
		k++;
		len -= take;
		off = 0;
	}
	return k;
}
