/* SPDX-License-Identifier: ISC */
#include "fmt.h"

#include <inttypes.h>
#include <string.h>

#include "config.h"

char *fmt_bytes(char *buf, size_t size, uint64_t n)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, size, "%" PRIu64 " B", n);
		return buf;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, "%.2f %s", v, units[u]);
	return buf;
}

char *fmt_duration(char *buf, size_t size, uint64_t s)
{
	static const struct { const char *name; uint64_t secs; } units[] = {
		{ "year", 365 * 86400ull }, { "day", 86400 }, { "hour", 3600 },
		{ "minute", 60 }, { "second", 1 },
	};
	size_t len = 0;

	buf[0] = '\0';
	if (s == 0) {
		snprintf(buf, size, "0 seconds");
		return buf;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = s / units[i].secs;

		if (!n)
			continue;
		s %= units[i].secs;
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%" PRIu64 " %s%s",
						len ? ", " : "", n, units[i].name,
						n == 1 ? "" : "s");
	}
	return buf;
}

char *fmt_spw(char *buf, size_t size, uint16_t spw, const char *sep)
{
	size_t len = 0;

	buf[0] = '\0';
	for (unsigned b = 0; b < 16; b++) {
		const char *name;

		if (!(spw & (1u << b)))
			continue;
		name = config_spw_name((uint16_t)(1u << b));
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? sep : "",
						name ? name : "");
		if (!name && len < size)
			len += (size_t)snprintf(buf + len, size - len, "bit%u", b);
	}
	return buf;
}

const char *fmt_safe(char *buf, size_t size, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* Length of the valid UTF-8 sequence at s, 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void json_str(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', fp);
	while (*s) {
		size_t n = utf8_len(s);

		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else if (*s < 0x20 || *s == 0x7f || n == 0)
			/* a stray byte is shown as the Latin-1 character */
			fprintf(fp, "\\u%04x", *s);
		else
			fwrite(s, 1, n, fp);
		s += n ? n : 1;
	}
	fputc('"', fp);
}

void json_str_list(FILE *fp, const char *list)
{
	const char *p = list;
	int first = 1;

	fputc('[', fp);
	while (*p) {
		size_t n = strcspn(p, " \t,");
		char item[256];

		if (n > 0 && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			fputs(first ? "" : ", ", fp);
			json_str(fp, item);
			first = 0;
		}
		p += n;
		p += strspn(p, " \t,");
	}
	fputc(']', fp);
}
