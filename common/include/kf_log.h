/*  kf_log — one line per event on stderr.

    A line is a stable dotted event name followed by logfmt pairs:
        kf_log_info ("batch.committed", "items=%d ms=%.1f", n, ms);
    prints
        ts=2026-11-23T06:49:59.123Z lvl=info svc=intake batch.committed items=12 ms=1.4
    With KEFU_LOG_FORMAT=json the same pairs become one JSON object per line:
        {"ts":"...","lvl":"info","svc":"intake","event":"batch.committed","items":12,"ms":1.4}
    Values that may hold spaces must be quoted by the caller: reason="%s".
    Control characters in a line are replaced, so untrusted text cannot forge lines.

    Logging settings are process-wide (like czmq's zsys): set once in main,
    before any thread starts. This is the one deliberate piece of global state. */
#ifndef KF_LOG_H
#define KF_LOG_H

#include <stdbool.h>

typedef enum {
    KF_LOG_DEBUG = 0,
    KF_LOG_INFO = 1,
    KF_LOG_WARN = 2,
    KF_LOG_ERROR = 3
} kf_log_level_t;

//  Set the service name shown as svc=..., and route czmq's own log lines to
//  stderr under the same ident. Call once, first thing in main.
void kf_log_init (const char *service);

//  Parse "debug|info|warn|error"; returns 0 or -1 if unknown.
int kf_log_set_level_name (const char *name);
void kf_log_set_level (kf_log_level_t level);
//  Parse "text|json"; returns 0 or -1 if unknown.
int kf_log_set_format_name (const char *name);

//  True when a line at this level would be printed (check before costly formatting).
bool kf_log_enabled (kf_log_level_t level);

void kf_log_write (kf_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#define kf_log_debug(event, ...)                                                                   \
    do {                                                                                           \
        if (kf_log_enabled (KF_LOG_DEBUG))                                                         \
            kf_log_write (KF_LOG_DEBUG, event, __VA_ARGS__);                                       \
    } while (0)
#define kf_log_info(event, ...)  kf_log_write (KF_LOG_INFO, event, __VA_ARGS__)
#define kf_log_warn(event, ...)  kf_log_write (KF_LOG_WARN, event, __VA_ARGS__)
#define kf_log_error(event, ...) kf_log_write (KF_LOG_ERROR, event, __VA_ARGS__)

#endif
