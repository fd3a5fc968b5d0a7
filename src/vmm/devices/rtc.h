/* A minimal MC146818 CMOS clock at ports 0x70/0x71: the current UTC time and
 * "no update in progress". Without it Debian's kernel spends ~3.8 s probing a
 * clock that does not answer. */
#ifndef ISOBOX_RTC_H
#define ISOBOX_RTC_H

#include <stdint.h>

#define RTC_PORT 0x70
#define RTC_PORT_LEN 2

struct rtc {
	uint8_t index;
};

uint8_t rtc_read(struct rtc *r, unsigned offset);
void rtc_write(struct rtc *r, unsigned offset, uint8_t value);

#endif
