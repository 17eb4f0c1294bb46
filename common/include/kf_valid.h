/*  kf_valid — checks on everything that arrives from outside kefu.

    protobuf-c validates neither UTF-8 nor enum ranges, and proto3 has no
    required fields, so every such check lives here and returns 0, or -1
    with an error code and a reason naming the field (for REJECTED acks). */
#ifndef KF_VALID_H
#define KF_VALID_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kf_error.h"

#define KF_ID_MAX      128 //  ids (gateway_msg_id, customer_id, agent_id), bytes
#define KF_SHOP_ID_MAX 64  //  shop ids, bytes
#define KF_NAME_MAX    256 //  display names, bytes

//  0 if s[0..len) is well-formed UTF-8 (RFC 3629: shortest form, no
//  surrogates, nothing above U+10FFFF); else -1 and *bad_at = byte offset.
int kf_valid_utf8 (const uint8_t *s, size_t len, size_t *bad_at);

//  Text field: valid UTF-8, no NUL, at most max_bytes, non-empty if required.
int kf_valid_text (const ProtobufCBinaryData *value, const char *field, size_t max_bytes,
                   bool required, kf_error_t *err);

//  Identifier field: like kf_valid_text but required, <= max_bytes, and no
//  control characters or leading/trailing spaces.
int kf_valid_id (const ProtobufCBinaryData *value, const char *field, size_t max_bytes,
                 kf_error_t *err);

//  Shop id: 1..64 bytes of [a-z0-9_.-], starting with a letter or digit.
int kf_valid_shop_id (const char *s, size_t len, kf_error_t *err);

//  Agent id (the agent's login on the chat platform), the one rule of
//  every service and of the agents table: 1..KF_ID_MAX bytes of
//  [A-Za-z0-9_.@-], starting with a letter or digit. field names it in the
//  reason.
int kf_valid_agent_id (const char *s, size_t len, const char *field, kf_error_t *err);

//  An internal name (an event stream, a subscriber's consumer key): 1 to
//  max_len bytes, a lowercase letter first, then [a-z0-9_] or a byte of
//  punct ("" for none). Names are the programs' own constants; the outbox
//  and the subscriber check theirs once when created, instead of a CHECK
//  on every row of event_sequences / consumer_offsets (migration 0014).
bool kf_valid_name (const char *s, size_t max_len, const char *punct);

//  Enum field: a value the descriptor knows; 0 (UNSPECIFIED) only if allowed.
int kf_valid_enum (const ProtobufCEnumDescriptor *desc, int value, const char *field,
                   bool allow_unspecified, kf_error_t *err);

//  Timestamp: within [now - max_past_ms, now + max_future_ms]; 0 counts as
//  missing (ERROR_MISSING_FIELD) when required.
int kf_valid_timestamp (int64_t ts_ms, int64_t now_ms, int64_t max_past_ms, int64_t max_future_ms,
                        const char *field, bool required, kf_error_t *err);

//  A NUL-terminated copy of a validated bytes field. Caller owns return value.
char *kf_valid_strdup (const ProtobufCBinaryData *value);

#endif
