/*  kf_shop — shop id to partition. */
#include "kf_shop.h"

#include <stdint.h>

unsigned
kf_shop_partition (const char *shop_id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t) shop_id[i];
        h *= 16777619u;
    }
    return h % KF_PARTITIONS;
}
