/*  kefuctl_args — what every kefuctl command shares to read its command
    line: options, checks of ids and names, values (numbers, durations,
    clock times, days, rotations) and their formatting back. No database,
    no other kefuctl file: every noun builds on it. */
#include "kefuctl.h"

#include "kf_tz.h"
#include "kf_valid.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
kefuctl_wants_help (int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
            return 1;
    return 0;
}

const char *
kefuctl_by (const char *cmd, const char *given)
{
    const char *by = given;
    if (!by)
        by = getenv ("USER");
    if (!by || !*by)
        by = getenv ("LOGNAME");
    if (!by || !*by)
        by = "kefuctl";
    ProtobufCBinaryData bytes = {strlen (by), (uint8_t *) by};
    kf_error_t err;
    if (kf_valid_id (&bytes, given ? "--by" : "$USER", KF_ID_MAX, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return NULL;
    }
    return by;
}

const char *
kefuctl_opt (int argc, char **argv, int *i, const char *name)
{
    if (strcmp (argv[*i], name) != 0 || *i + 1 >= argc)
        return NULL;
    *i += 1;
    return argv[*i];
}

int
kefuctl_bad_arg (const char *cmd, int argc, char **argv, int i)
{
    if (argv[i][0] == '-' && i + 1 >= argc)
        fprintf (stderr, "%s: unexpected argument \"%s\" (an option without its value?)\n", cmd,
                 argv[i]);
    else
        fprintf (stderr, "%s: unexpected argument \"%s\" (see --help)\n", cmd, argv[i]);
    return KEFUCTL_USAGE;
}

int
kefuctl_check_shop (const char *cmd, const char *shop_id)
{
    kf_error_t err;
    if (kf_valid_shop_id (shop_id, strlen (shop_id), &err)) {
        fprintf (stderr, "%s: bad shop id \"%s\": %s\n", cmd, shop_id, err.reason);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

//  kf_valid_agent_id: the rule of intake, routing and the agents table.
int
kefuctl_check_agent_id (const char *cmd, const char *agent_id)
{
    kf_error_t err;
    if (kf_valid_agent_id (agent_id, strlen (agent_id), "agent id", &err)) {
        fprintf (stderr,
                 "%s: bad agent id \"%s\": use 1-128 of A-Z a-z 0-9 _ . @ -, starting with a "
                 "letter or digit (the agent's login on the chat platform)\n",
                 cmd, agent_id);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

//  The table CHECK: ^[a-z0-9][a-z0-9_.-]{0,31}$
static bool
s_valid_name (const char *name, size_t len)
{
    if (len < 1 || len > 32)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '.' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

int
kefuctl_check_name (const char *cmd, const char *what, const char *name)
{
    if (!s_valid_name (name, strlen (name))) {
        fprintf (stderr,
                 "%s: bad %s name \"%s\": use 1-32 of a-z 0-9 _ . -, starting with a letter "
                 "or digit (e.g. presales; the display name may be Chinese)\n",
                 cmd, what, name);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

int
kefuctl_check_label (const char *cmd, const char *what, const char *text, size_t max)
{
    ProtobufCBinaryData bytes = {strlen (text), (uint8_t *) text};
    kf_error_t err;
    if (kf_valid_id (&bytes, what, max, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

int
kefuctl_check_text (const char *cmd, const char *what, const char *text, size_t max, bool required)
{
    ProtobufCBinaryData bytes = {strlen (text), (uint8_t *) text};
    kf_error_t err;
    if (kf_valid_text (&bytes, what, max, required, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

int
kefuctl_parse_names (const char *cmd, const char *what, const char *list, bool allow_empty,
                     kefuctl_names_t *out)
{
    memset (out, 0, sizeof *out);
    if (!*list) {
        if (allow_empty)
            return KEFUCTL_OK;
        fprintf (stderr, "%s: empty %s list\n", cmd, what);
        return KEFUCTL_USAGE;
    }
    const char *p = list;
    while (true) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        if (!s_valid_name (p, len)) {
            fprintf (stderr,
                     "%s: bad %s name \"%.*s\" in \"%s\": use 1-32 of a-z 0-9 _ . -, starting "
                     "with a letter or digit, separated by commas\n",
                     cmd, what, (int) (len > 64 ? 64 : len), p, list);
            return KEFUCTL_USAGE;
        }
        bool seen = false;
        for (int i = 0; i < out->count && !seen; i++)
            seen = strlen (out->name[i]) == len && memcmp (out->name[i], p, len) == 0;
        if (!seen) {
            if (out->count == KEFUCTL_NAMES_MAX) {
                fprintf (stderr, "%s: more than %d %s names\n", cmd, KEFUCTL_NAMES_MAX, what);
                return KEFUCTL_USAGE;
            }
            memcpy (out->name[out->count], p, len);
            out->name[out->count][len] = 0;
            size_t used = strlen (out->csv);
            //  Room is guaranteed: at most KEFUCTL_NAMES_MAX names of <= 32 bytes.
            snprintf (out->csv + used, sizeof out->csv - used, "%s%s", out->count ? "," : "",
                      out->name[out->count]);
            out->count++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return KEFUCTL_OK;
}

int
kefuctl_parse_int (const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
                   int64_t *out)
{
    errno = 0;
    char *end = NULL;
    long long v = strtoll (text, &end, 10);
    if (!*text || *end || errno == ERANGE || v < min || v > max) {
        fprintf (stderr,
                 "%s: %s takes a whole number from %" PRId64 " to %" PRId64 ", not \"%s\"\n", cmd,
                 opt, min, max, text);
        return KEFUCTL_USAGE;
    }
    *out = v;
    return KEFUCTL_OK;
}

int
kefuctl_parse_duration (const char *cmd, const char *opt, const char *text, int64_t min_ms,
                        int64_t max_ms, int64_t *out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1},      {"s", 1000},    {"m", 60000},
                 {"min", 60000}, {"h", 3600000}, {"d", 86400000}};
    errno = 0;
    char *end = NULL;
    long long v = strtoll (text, &end, 10);
    int64_t ms = -1;
    if (end != text && isdigit ((unsigned char) text[0]) && errno != ERANGE && v <= 86400000LL)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcmp (end, units[i].unit) == 0)
                ms = v * units[i].ms;
    char lo[32], hi[32];
    if (ms < min_ms || ms > max_ms) {
        fprintf (stderr,
                 "%s: %s takes a duration with a unit from %s to %s (e.g. 500ms, 30s, 2m), "
                 "not \"%s\"\n",
                 cmd, opt, kefuctl_fmt_duration (lo, sizeof lo, min_ms),
                 kefuctl_fmt_duration (hi, sizeof hi, max_ms), text);
        return KEFUCTL_USAGE;
    }
    *out = ms;
    return KEFUCTL_OK;
}

int
kefuctl_parse_clock (const char *cmd, const char *opt, const char *text, bool allow_24, int *out)
{
    int h = -1, m = -1;
    size_t len = strlen (text);
    bool shape = (len == 5 && isdigit ((unsigned char) text[0]) &&
                  isdigit ((unsigned char) text[1]) && text[2] == ':' &&
                  isdigit ((unsigned char) text[3]) && isdigit ((unsigned char) text[4])) ||
                 (len == 4 && isdigit ((unsigned char) text[0]) && text[1] == ':' &&
                  isdigit ((unsigned char) text[2]) && isdigit ((unsigned char) text[3]));
    if (shape) {
        const char *colon = strchr (text, ':');
        h = atoi (text);
        m = atoi (colon + 1);
    }
    bool ok = shape && ((h < 24 && m < 60) || (allow_24 && h == 24 && m == 0));
    if (!ok) {
        fprintf (stderr, "%s: %s takes a time of day HH:MM (00:00-23:59%s), not \"%s\"\n", cmd, opt,
                 allow_24 ? ", or 24:00" : "", text);
        return KEFUCTL_USAGE;
    }
    *out = h * 60 + m;
    return KEFUCTL_OK;
}

static const char *s_day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *s_day_long[7] = {"monday", "tuesday",  "wednesday", "thursday",
                                    "friday", "saturday", "sunday"};

static int
s_day (const char *p, size_t len)
{
    char word[16];
    if (len == 0 || len >= sizeof word)
        return -1;
    for (size_t i = 0; i < len; i++)
        word[i] = (char) tolower ((unsigned char) p[i]);
    word[len] = 0;
    for (int d = 0; d < 7; d++)
        if (strcmp (word, s_day_names[d]) == 0 || strcmp (word, s_day_long[d]) == 0)
            return d;
    return -1;
}

int
kefuctl_parse_days (const char *cmd, const char *text, int *out)
{
    int days = 0;
    const char *p = text;
    while (*text) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        int bits = -1;
        if ((len == 3 && strncasecmp (p, "all", 3) == 0) ||
            (len == 5 && strncasecmp (p, "daily", 5) == 0))
            bits = 127;
        else if (len == 8 && strncasecmp (p, "weekdays", 8) == 0)
            bits = 31;
        else if ((len == 8 && strncasecmp (p, "weekends", 8) == 0) ||
                 (len == 7 && strncasecmp (p, "weekend", 7) == 0))
            bits = 96;
        else {
            const char *dash = memchr (p, '-', len);
            int from = s_day (p, dash ? (size_t) (dash - p) : len);
            int to = dash ? s_day (dash + 1, len - (size_t) (dash - p) - 1) : from;
            if (from >= 0 && to >= 0)
                //  A range may wrap past Sunday: fri-mon.
                for (int d = from, n = 0; n < 7; d = (d + 1) % 7, n++) {
                    bits = (bits < 0 ? 0 : bits) | (1 << d);
                    if (d == to)
                        break;
                }
        }
        if (bits < 0) {
            fprintf (stderr,
                     "%s: bad --days \"%s\": use all, weekdays, weekends, or days and ranges "
                     "of mon tue wed thu fri sat sun separated by commas (mon-fri, sat,sun)\n",
                     cmd, text);
            return KEFUCTL_USAGE;
        }
        days |= bits;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (days == 0) {
        fprintf (stderr, "%s: --days names no day (use e.g. all or mon-fri)\n", cmd);
        return KEFUCTL_USAGE;
    }
    *out = days;
    return KEFUCTL_OK;
}

int
kefuctl_parse_rotation (const char *cmd, const char *text, int *weeks, int *offset)
{
    int n = 0, k = -1, used = 0;
    char word[8] = "";
    if (sscanf (text, "%d:%d%n", &n, &k, &used) == 2 && !text[used]) {
        if (k < 0)
            n = 0; //  not a week of the cycle (nor THIS / NEXT)
    } else if (sscanf (text, "%d:%5[a-z]%n", &n, word, &used) == 2 && !text[used] &&
               (strcmp (word, "this") == 0 || strcmp (word, "next") == 0))
        k = strcmp (word, "this") == 0 ? KEFUCTL_ROTATION_THIS : KEFUCTL_ROTATION_NEXT;
    else
        n = 0;
    if (!isdigit ((unsigned char) *text) || n < 1 || n > 8 || k >= n ||
        (k < 0 && k != KEFUCTL_ROTATION_THIS && k != KEFUCTL_ROTATION_NEXT)) {
        fprintf (stderr,
                 "%s: bad --rotation \"%s\": use N:K, every N weeks (1-8) in week K (0..N-1) "
                 "of the cycle, or N:this / N:next (the week of the cycle this or next week "
                 "is), e.g. 2:this and 2:next alternate week by week\n",
                 cmd, text);
        return KEFUCTL_USAGE;
    }
    *weeks = n;
    *offset = k;
    return KEFUCTL_OK;
}

int64_t
kefuctl_week (const char *timezone, int64_t now_ms)
{
    kf_tz_t *tz = kf_tz_new (timezone);
    if (!tz)
        return -1;
    int64_t week = kf_tz_week_of_day (kf_tz_local_day (tz, now_ms));
    kf_tz_destroy (&tz);
    return week;
}

const char *
kefuctl_fmt_rotation (char *buf, size_t size, int weeks, int offset, int64_t week)
{
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (weeks > 1 && snprintf (buf, size, "[%d:%d%s]", weeks, offset,
                               week >= 0 && week % weeks == offset ? " this week" : "") < 0)
        buf[0] = 0;
    return buf;
}

const char *
kefuctl_fmt_days (char *buf, size_t size, int days)
{
    days &= 127;
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (days == 127) {
        snprintf (buf, size, "all");
        return buf;
    }
    size_t used = 0;
    for (int d = 0; d < 7;) {
        if (!(days & (1 << d))) {
            d++;
            continue;
        }
        int end = d;
        while (end + 1 < 7 && (days & (1 << (end + 1))))
            end++;
        int n;
        //  Three or more days in a row read better as a range: mon-fri.
        if (end - d >= 2)
            n = snprintf (buf + used, size - used, "%s%s-%s", used ? "," : "", s_day_names[d],
                          s_day_names[end]);
        else if (end > d)
            n = snprintf (buf + used, size - used, "%s%s,%s", used ? "," : "", s_day_names[d],
                          s_day_names[end]);
        else
            n = snprintf (buf + used, size - used, "%s%s", used ? "," : "", s_day_names[d]);
        if (n < 0 || (size_t) n >= size - used)
            break; //  truncated: keep what fits
        used += (size_t) n;
        d = end + 1;
    }
    return buf;
}

const char *
kefuctl_fmt_clock (char *buf, size_t size, int minute)
{
    if (snprintf (buf, size, "%02d:%02d", minute / 60, minute % 60) < 0 && size)
        buf[0] = 0;
    return buf;
}

const char *
kefuctl_fmt_duration (char *buf, size_t size, int64_t ms)
{
    int n;
    if (ms > 0 && ms % 3600000 == 0)
        n = snprintf (buf, size, "%" PRId64 "h", ms / 3600000);
    else if (ms > 0 && ms % 60000 == 0)
        n = snprintf (buf, size, "%" PRId64 "m", ms / 60000);
    else if (ms > 0 && ms % 1000 == 0)
        n = snprintf (buf, size, "%" PRId64 "s", ms / 1000);
    else
        n = snprintf (buf, size, "%" PRId64 "ms", ms);
    if (n < 0 && size)
        buf[0] = 0;
    return buf;
}

int
kefuctl_shop_args (const char *cmd, int argc, char **argv, int first, const char **shop_id,
                   bool *json, const char **by)
{
    const char *given_by = NULL, *v;
    *shop_id = NULL;
    if (json)
        *json = false;
    for (int i = first; i < argc; i++) {
        if (json && strcmp (argv[i], "--json") == 0)
            *json = true;
        else if (by && (v = kefuctl_opt (argc, argv, &i, "--by")))
            given_by = v;
        else if (argv[i][0] != '-' && !*shop_id)
            *shop_id = argv[i];
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    if (!*shop_id) {
        fprintf (stderr, "%s: needs <shop>\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (kefuctl_check_shop (cmd, *shop_id))
        return KEFUCTL_USAGE;
    if (by && !(*by = kefuctl_by (cmd, given_by)))
        return KEFUCTL_USAGE;
    return KEFUCTL_OK;
}
