/*  kf_valid — UTF-8, NUL, length, enum and timestamp checks. */
#include "kf_valid.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int
kf_valid_utf8 (const uint8_t *s, size_t len, size_t *bad_at)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            need = 1, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, cp = c & 0x07, min = 0x10000;
        else
            goto bad; //  lone continuation byte, C0/C1 overlong lead, F5..FF
        if (i + need >= len)
            goto bad; //  truncated sequence at the end
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad; //  overlong, beyond Unicode, or a UTF-16 surrogate
        i += need + 1;
    }
    return 0;
bad:
    if (bad_at)
        *bad_at = i;
    return -1;
}

int
kf_valid_text (const ProtobufCBinaryData *value, const char *field, size_t max_bytes, bool required,
               kf_error_t *err)
{
    size_t len = value ? value->len : 0;
    if (len == 0) {
        if (required)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "%s is required",
                                 field);
        return 0;
    }
    if (len > max_bytes)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG,
                             "%s is %zu bytes, over the limit of %zu", field, len, max_bytes);
    const void *nul = memchr (value->data, 0, len);
    if (nul)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL,
                             "%s contains a NUL byte at offset %zu", field,
                             (size_t) ((const uint8_t *) nul - value->data));
    size_t bad_at = 0;
    if (kf_valid_utf8 (value->data, len, &bad_at))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8,
                             "%s is not valid UTF-8 at byte %zu", field, bad_at);
    return 0;
}

int
kf_valid_id (const ProtobufCBinaryData *value, const char *field, size_t max_bytes, kf_error_t *err)
{
    if (kf_valid_text (value, field, max_bytes, true, err))
        return -1;
    for (size_t i = 0; i < value->len; i++)
        if (value->data[i] < 0x20 || value->data[i] == 0x7f)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                 "%s contains a control character at byte %zu", field, i);
    if (value->data[0] == ' ' || value->data[value->len - 1] == ' ')
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "%s has leading or trailing spaces", field);
    return 0;
}

int
kf_valid_shop_id (const char *s, size_t len, kf_error_t *err)
{
    if (len == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "shop_id is required");
    if (len > KF_SHOP_ID_MAX)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG,
                             "shop_id is %zu bytes, over the limit of %d", len, KF_SHOP_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '.' || c == '-'));
        if (!ok)
            //  An id with other characters cannot name a registered shop.
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP,
                                 "shop_id has a character outside [a-z0-9_.-] at byte %zu", i);
    }
    return 0;
}

int
kf_valid_agent_id (const char *s, size_t len, const char *field, kf_error_t *err)
{
    if (len == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "%s is required",
                             field);
    if (len > KF_ID_MAX)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG,
                             "%s is %zu bytes, over the limit of %d", field, len, KF_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !(c == '_' || c == '.' || c == '@' || c == '-')))
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                                 "%s has a character outside [A-Za-z0-9_.@-] (or not a letter or "
                                 "digit first) at byte %zu",
                                 field, i);
    }
    return 0;
}

bool
kf_valid_name (const char *s, size_t max_len, const char *punct)
{
    size_t len = s ? strlen (s) : 0;
    if (len == 0 || len > max_len || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || strchr (punct, c)))
            return false;
    }
    return true;
}

int
kf_valid_enum (const ProtobufCEnumDescriptor *desc, int value, const char *field,
               bool allow_unspecified, kf_error_t *err)
{
    if (value == 0) {
        if (allow_unspecified)
            return 0;
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "%s is required",
                             field);
    }
    if (!protobuf_c_enum_descriptor_get_value (desc, value))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM,
                             "%s has unknown value %d", field, value);
    return 0;
}

int
kf_valid_timestamp (int64_t ts_ms, int64_t now_ms, int64_t max_past_ms, int64_t max_future_ms,
                    const char *field, bool required, kf_error_t *err)
{
    if (ts_ms == 0) {
        if (required)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "%s is required",
                                 field);
        return 0;
    }
    //  Compare as differences that cannot overflow for any int64 input.
    if (ts_ms < now_ms && (uint64_t) now_ms - (uint64_t) ts_ms > (uint64_t) max_past_ms)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW,
                             "%s=%" PRId64 " is more than %" PRId64 " ms in the past", field, ts_ms,
                             max_past_ms);
    if (ts_ms > now_ms && (uint64_t) ts_ms - (uint64_t) now_ms > (uint64_t) max_future_ms)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_TIMESTAMP_OUT_OF_WINDOW,
                             "%s=%" PRId64 " is more than %" PRId64 " ms in the future", field,
                             ts_ms, max_future_ms);
    return 0;
}

char *
kf_valid_strdup (const ProtobufCBinaryData *value)
{
    size_t len = value ? value->len : 0;
    char *s = malloc (len + 1);
    if (s) {
        if (len)
            memcpy (s, value->data, len);
        s[len] = '\0';
    }
    return s;
}
