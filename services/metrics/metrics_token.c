/*  metrics_token — dashboard tokens: made from libsodium's randomness,
    kept as their SHA-256. */
#include "metrics_token.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

int
metrics_token_new (char *out, size_t size)
{
    unsigned char raw[24];
    if (size < METRICS_TOKEN_LEN + 1 || sodium_init () < 0)
        return -1;
    randombytes_buf (raw, sizeof raw);
    memcpy (out, "kft_", 4);
    sodium_bin2hex (out + 4, size - 4, raw, sizeof raw);
    sodium_memzero (raw, sizeof raw);
    return 0;
}

void
metrics_token_hash (const char *token, size_t len, char *hex)
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, (const unsigned char *) token, len);
    sodium_bin2hex (hex, METRICS_HASH_LEN + 1, digest, sizeof digest);
}
