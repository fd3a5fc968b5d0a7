#include "vmm/initramfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPIO_ALIGN(n) (((n) + 3) & ~(size_t)3)

static size_t header(char *out, unsigned ino, unsigned mode, size_t size, size_t namesize)
{
	return (size_t)sprintf(out, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
			       ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, namesize, 0);
}

/* One entry: header, name, padding, data, padding. */
static size_t entry(char *out, unsigned ino, const char *name, unsigned mode, const void *data,
		    size_t size)
{
	size_t n = header(out, ino, mode, size, strlen(name) + 1);

	memcpy(out + n, name, strlen(name) + 1);
	n = CPIO_ALIGN(n + strlen(name) + 1);
	if (size)
		memcpy(out + n, data, size);
	return CPIO_ALIGN(n + size);
}

int initramfs_append(char **buf, size_t *len, const char *name, const void *data, size_t size,
		     unsigned mode, struct err *err)
{
	/* The previous archive's end is padded to 4 bytes already (newc rule). */
	size_t start = CPIO_ALIGN(*len);
	size_t need = start + 2 * (110 + 16) + strlen(name) + size + 16;
	char *b = realloc(*buf, need);

	if (!b)
		return err_set(err, "out of memory for the initramfs");
	memset(b + *len, 0, start - *len);
	*buf = b;
	start += entry(b + start, 1, name, mode, data, size);
	start += entry(b + start, 2, "TRAILER!!!", 0, NULL, 0);
	*len = start;
	return 0;
}
