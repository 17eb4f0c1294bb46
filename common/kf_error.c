/*  kf_error — error code + reason. */
#include "kf_error.h"

#include <stdio.h>
#include <string.h>

int
kf_error_set (kf_error_t *err, Kefu__V1__ErrorCode code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err->reason, sizeof err->reason, fmt, ap);
        va_end (ap);
    }
    return -1;
}

void
kf_error_clear (kf_error_t *err)
{
    if (err) {
        err->code = KEFU__V1__ERROR_CODE__ERROR_NONE;
        err->reason[0] = '\0';
    }
}

const char *
kf_error_code_name (int code)
{
    //  The generated descriptor knows the names ("ERROR_INVALID_UTF8"); we
    //  want the short lower-case form, so keep one table here, in enum order.
    static const char *names[] = {
        "none",
        "unknown_shop",
        "shop_out_of_scope",
        "missing_field",
        "invalid_utf8",
        "contains_nul",
        "too_long",
        "unknown_enum",
        "timestamp_out_of_window",
        "malformed",
        "oversized_frame",
        "bad_framing",
        "not_authenticated",
        "protocol_version",
        "invalid_value",
        "store_unavailable",
        "overloaded",
        "unknown_target",
        "forbidden",
        "internal",
        "limit_exceeded",
    };
    if (code < 0 || (size_t) code >= sizeof names / sizeof names[0])
        return "unknown";
    return names[code];
}

int
kf_error_is_retryable (int code)
{
    return code == KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE ||
           code == KEFU__V1__ERROR_CODE__ERROR_OVERLOADED;
}
