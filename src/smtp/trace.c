#include "smtp/trace.h"

#include <string.h>

int smtp_trace_date(struct buf *out, time_t when, int utc_offset_min)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t local = when + (time_t)utc_offset_min * 60;
	struct tm tm;
	if (!gmtime_r(&local, &tm))
		return BUF_TOO_BIG;
	int off = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
	return buf_printf(out, "%s, %d %s %04d %02d:%02d:%02d %c%02d%02d", days[tm.tm_wday],
			  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			  tm.tm_sec, utc_offset_min < 0 ? '-' : '+', off / 60, off % 60);
}

/* An address literal for TCP-info (RFC 5321 §4.1.3): IPv6 gets its tag. */
static int addr_literal(struct buf *out, const char *addr)
{
	return buf_printf(out, "[%s%s]", strchr(addr, ':') ? "IPv6:" : "", addr);
}

int smtp_trace_return_path(struct buf *out, const char *sender)
{
	return buf_printf(out, "Return-Path: <%s>\r\n", sender);
}

int smtp_trace_format(struct buf *out, const struct smtp_trace *t)
{
	int rc = t->return_path ? smtp_trace_return_path(out, t->return_path) : BUF_OK;
	if (rc == BUF_OK)
		rc = buf_printf(out, "Received: from %s (", t->helo && *t->helo ? t->helo : "unknown");
	if (rc == BUF_OK)
		rc = addr_literal(out, t->client_addr);
	if (rc == BUF_OK)
		rc = buf_printf(out, ")\r\n\tby %s (postern) with %s", t->by, t->protocol);
	if (rc == BUF_OK && t->tls)
		rc = buf_printf(out, "\r\n\t(%s)", t->tls);
	if (rc == BUF_OK)
		rc = buf_printf(out, " id %s", t->queue_id);
	if (rc == BUF_OK && t->for_addr)
		rc = buf_printf(out, "\r\n\tfor <%s>", t->for_addr);
	if (rc == BUF_OK)
		rc = buf_append_str(out, "; ");
	if (rc == BUF_OK)
		rc = smtp_trace_date(out, t->when, t->utc_offset_min);
	if (rc == BUF_OK)
		rc = buf_append(out, "\r\n", 2);
	return rc;
}
