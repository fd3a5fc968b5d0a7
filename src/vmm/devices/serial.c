#include "vmm/devices/serial.h"

#include <unistd.h>

#define LCR_DLAB 0x80
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_FIFO 0xc0
#define LSR_IDLE 0x60             /* THR empty, transmitter empty */
#define MCR_LOOP 0x10
#define MSR_IDLE 0xb0             /* DCD, DSR, CTS */

void serial_init(struct serial *s, int out_fd, uint64_t limit,
		 void (*irq)(void *ctx, int line), void *ctx)
{
	*s = (struct serial){ .out_fd = out_fd, .limit = limit, .irq = irq, .irq_ctx = ctx };
}

static void serial_update_irq(struct serial *s)
{
	if (s->thre_pending && (s->ier & IER_THRI) && s->irq)
		s->irq(s->irq_ctx, SERIAL_IRQ);
}

static void serial_output(struct serial *s, uint8_t c)
{
	s->written++;
	if (s->out_fd >= 0 && (!s->limit || s->written <= s->limit) && write(s->out_fd, &c, 1) < 0)
		s->out_fd = -1;   /* the log is gone: keep the guest running anyway */
	/* The byte left at once: the transmitter is empty again. */
	s->thre_pending = true;
	serial_update_irq(s);
}

/* In loopback mode the modem outputs show up as the modem inputs: the 8250
 * driver checks this when it probes the port. */
static uint8_t serial_msr(const struct serial *s)
{
	if (!(s->mcr & MCR_LOOP))
		return MSR_IDLE;
	return (uint8_t)(((s->mcr & 0x01) << 5) | ((s->mcr & 0x02) << 3) |
			 ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
}

uint8_t serial_read(struct serial *s, unsigned offset)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;

	switch (offset) {
	case 0: return dlab ? s->dll : 0;
	case 1: return dlab ? s->dlm : s->ier;
	case 2:
		if (s->thre_pending && (s->ier & IER_THRI)) {
			s->thre_pending = false;     /* reading IIR acknowledges it */
			return fifo | IIR_THRI;
		}
		return fifo | IIR_NONE;
	case 3: return s->lcr;
	case 4: return s->mcr;
	case 5: return LSR_IDLE;
	case 6: return serial_msr(s);
	case 7: return s->scr;
	default: return 0xff;
	}
}

void serial_write(struct serial *s, unsigned offset, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (offset) {
	case 0:
		if (dlab)
			s->dll = v;
		else
			serial_output(s, v);
		break;
	case 1:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling the THR interrupt while empty raises it, as a 16550 does. */
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thre_pending = true;
		s->ier = v & 0x0f;
		serial_update_irq(s);
		break;
	case 2: s->fcr = v; break;
	case 3: s->lcr = v; break;
	case 4: s->mcr = v; break;
	case 7: s->scr = v; break;
	default: break;
	}
}
