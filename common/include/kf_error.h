/*  kf_error — an error code (the wire's ErrorCode) plus a human-readable reason.
    Fallible calls that need to tell *why* (REJECTED acks, config errors) take a
    caller-supplied kf_error_t *err, like Redis's anet `char *err`. */
#ifndef KF_ERROR_H
#define KF_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#include "kefu/v1/common.pb-c.h"

#define KF_REASON_MAX 256

typedef struct {
    Kefu__V1__ErrorCode code;   //  ERROR_NONE when no error
    char reason[KF_REASON_MAX]; //  human-readable detail, NUL-terminated
} kf_error_t;

//  Set code and a printf-style reason; returns -1 so callers can
//  `return kf_error_set (err, ...)`. err may be NULL.
int kf_error_set (kf_error_t *err, Kefu__V1__ErrorCode code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Reset to ERROR_NONE and an empty reason. err may be NULL.
void kf_error_clear (kf_error_t *err);

//  Stable short name of a code, e.g. "invalid_utf8" (used in counters, logs,
//  JSON). Returns a static string; "unknown" for values not in the enum.
const char *kf_error_code_name (int code);

//  True for codes that mean "try again later" (store unavailable, overloaded).
int kf_error_is_retryable (int code);

#endif
