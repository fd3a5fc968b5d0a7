#include "vmm/devices/rtc.h"

#include <time.h>

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_register(uint8_t index)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (index) {
	case 0x00: return bcd(tm.tm_sec);
	case 0x02: return bcd(tm.tm_min);
	case 0x04: return bcd(tm.tm_hour);
	case 0x06: return bcd(tm.tm_wday + 1);
	case 0x07: return bcd(tm.tm_mday);
	case 0x08: return bcd(tm.tm_mon + 1);
	case 0x09: return bcd(tm.tm_year % 100);
	case 0x32: return bcd(19 + tm.tm_year / 100);
	case 0x0a: return 0x26;   /* 32.768 kHz base, 1024 Hz; no update in progress */
	case 0x0b: return 0x02;   /* 24-hour, BCD, no interrupts */
	case 0x0d: return 0x80;   /* battery good */
	default: return 0;
	}
}

uint8_t rtc_read(struct rtc *r, unsigned offset)
{
	return offset == 1 ? rtc_register(r->index) : 0xff;
}

void rtc_write(struct rtc *r, unsigned offset, uint8_t value)
{
	if (offset == 0)
		r->index = value & 0x7f;   /* bit 7 masks NMIs */
}
