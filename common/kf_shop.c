/*  kf_shop — shop id to partition. */
#include "kf_shop.h"

#include <stdint.h>

uint32_t
kf_fnv1a (uint32_t hash, const void *data, size_t len)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < len; i++) {
        hash ^= bytes[i];
        hash *= 16777619u;
    }
    return hash;
}

unsigned
kf_shop_partition (const char *shop_id, size_t len)
{
    return kf_fnv1a (KF_FNV_OFFSET, shop_id, len) % KF_PARTITIONS;
}
