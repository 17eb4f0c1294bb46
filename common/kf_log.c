/*  kf_log — logfmt or JSON lines on stderr. */
#include "kf_log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <czmq.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

//  Process-wide logging settings (see the header for why these are global).
static struct {
    char service[32];     //  svc=...
    kf_log_level_t level; //  minimum level printed
    bool json;            //  JSON lines instead of logfmt
} s_log = {"kefu", KF_LOG_INFO, false};

static const char *s_level_names[] = {"debug", "info", "warn", "error"};

void
kf_log_init (const char *service)
{
    snprintf (s_log.service, sizeof s_log.service, "%s", service);
    //  czmq's own lines (e.g. dangling sockets) go to the same stream.
    setenv ("ZSYS_LOGSTREAM", "stderr", 0);
    char ident[48];
    snprintf (ident, sizeof ident, "kefu-%s", service);
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
}

int
kf_log_set_level_name (const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp (name, s_level_names[i]) == 0) {
            s_log.level = (kf_log_level_t) i;
            return 0;
        }
    return -1;
}

void
kf_log_set_level (kf_log_level_t level)
{
    s_log.level = level;
}

int
kf_log_set_format_name (const char *name)
{
    if (strcmp (name, "text") == 0)
        s_log.json = false;
    else if (strcmp (name, "json") == 0)
        s_log.json = true;
    else
        return -1;
    return 0;
}

bool
kf_log_enabled (kf_log_level_t level)
{
    return level >= s_log.level;
}

static void
s_timestamp (char *buf, size_t size)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    size_t n = strftime (buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf + n, size - n, ".%03dZ", (int) (tv.tv_usec / 1000));
}

//  Replace control characters so one event is always one line.
static void
s_sanitize (char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            *s = ' ';
}

//  Parse logfmt pairs (key=value, key="quoted \" value") into a JSON object.
//  Values that look like numbers become JSON numbers.
static void
s_pairs_to_json (json_t *obj, const char *p)
{
    while (*p) {
        while (*p == ' ')
            p++;
        const char *key = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t key_len = (size_t) (p - key);
        if (key_len == 0)
            break;
        char keybuf[64];
        snprintf (keybuf, sizeof keybuf, "%.*s", (int) (key_len < 63 ? key_len : 63), key);
        if (*p != '=') {
            json_object_set_new (obj, keybuf, json_true ());
            continue;
        }
        p++;
        char value[1024];
        size_t n = 0;
        bool quoted = *p == '"';
        if (quoted) {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (n < sizeof value - 1)
                    value[n++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else
            while (*p && *p != ' ') {
                if (n < sizeof value - 1)
                    value[n++] = *p;
                p++;
            }
        value[n] = '\0';
        char *end = NULL;
        bool decimal = n > 0 && strspn (value, "0123456789+-.eE") == n;
        if (!quoted && decimal) {
            errno = 0;
            long long iv = strtoll (value, &end, 10);
            if (*end == '\0' && errno != ERANGE) {
                json_object_set_new (obj, keybuf, json_integer (iv));
                continue;
            }
            double dv = strtod (value, &end);
            if (*end == '\0' && strchr (value, '.') && isfinite (dv)) {
                json_object_set_new (obj, keybuf, json_real (dv));
                continue;
            }
        }
        //  json_stringn_nocheck would accept invalid UTF-8; logged text is
        //  usually validated already, but fall back to a placeholder if not.
        json_t *str = json_stringn (value, n);
        json_object_set_new (obj, keybuf, str ? str : json_string ("<invalid utf-8>"));
    }
}

void
kf_log_write (kf_log_level_t level, const char *event, const char *fmt, ...)
{
    if (!kf_log_enabled (level))
        return;
    char pairs[2048];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (pairs, sizeof pairs, fmt, ap);
    va_end (ap);
    s_sanitize (pairs);
    char ts[40];
    s_timestamp (ts, sizeof ts);

    if (s_log.json) {
        json_t *obj = json_object ();
        json_object_set_new (obj, "ts", json_string (ts));
        json_object_set_new (obj, "lvl", json_string (s_level_names[level]));
        json_object_set_new (obj, "svc", json_string (s_log.service));
        json_object_set_new (obj, "event", json_string (event));
        s_pairs_to_json (obj, pairs);
        char *line = json_dumps (obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) {
            fprintf (stderr, "%s\n", line);
            free (line);
        }
        json_decref (obj);
    } else
        fprintf (stderr, "ts=%s lvl=%s svc=%s %s%s%s\n", ts, s_level_names[level], s_log.service,
                 event, pairs[0] ? " " : "", pairs);
}
