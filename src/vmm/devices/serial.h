/* An 8250/16550A UART at the PC's COM1 (port 0x3f8, IRQ 4): the guest kernel's
 * log. What the guest writes goes to out_fd (a per-container file), never to
 * the user's terminal. Nothing is ever received. */
#ifndef ISOBOX_SERIAL_H
#define ISOBOX_SERIAL_H

#include <stdbool.h>
#include <stdint.h>

#define SERIAL_PORT 0x3f8
#define SERIAL_PORT_LEN 8
#define SERIAL_IRQ 4

struct serial {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thre_pending;        /* a "transmitter empty" interrupt is owed */
	int out_fd;               /* -1: discard */
	uint64_t written;         /* bytes the guest sent, to cap a flood */
	uint64_t limit;           /* stop writing out_fd after this many; 0 = no cap */
	void (*irq)(void *ctx, int line);  /* pulse an IRQ line */
	void *irq_ctx;
};

void serial_init(struct serial *s, int out_fd, uint64_t limit,
		 void (*irq)(void *ctx, int line), void *ctx);
/* offset is port - SERIAL_PORT, 0..7. */
uint8_t serial_read(struct serial *s, unsigned offset);
void serial_write(struct serial *s, unsigned offset, uint8_t value);

#endif
