/*  metrics_token — supervisors' dashboard tokens.

    A token is "kft_" and 48 hex digits (24 random bytes from libsodium).
    kefuctl prints it once; the principals table keeps only its SHA-256
    (hex), and kefu-metrics compares hashes. */
#ifndef METRICS_TOKEN_H
#define METRICS_TOKEN_H

#include <stddef.h>

#define METRICS_TOKEN_LEN 52 //  "kft_" + 48 hex digits
#define METRICS_HASH_LEN  64 //  SHA-256 in hex

//  A new random token into out (at least METRICS_TOKEN_LEN + 1 bytes).
//  0, or -1 when no randomness is available.
int metrics_token_new (char *out, size_t size);
//  The SHA-256 of token (len bytes), as hex, into hex (METRICS_HASH_LEN + 1).
void metrics_token_hash (const char *token, size_t len, char *hex);

#endif
