/*  kf_shop — a shop's event partition.

    Every event topic and sequence is per (stream, partition), and a shop
    always lives in one partition, so several instances of a service can
    split the shops between them by subscribing to different partitions. */
#ifndef KF_SHOP_H
#define KF_SHOP_H

#include <stddef.h>
#include <stdint.h>

#define KF_PARTITIONS 16

//  The partition (0..KF_PARTITIONS-1) of a shop id: FNV-1a of its bytes.
unsigned kf_shop_partition (const char *shop_id, size_t len);

//  FNV-1a of len bytes, continuing from hash (start from KF_FNV_OFFSET), for
//  spreading other keys the same way (e.g. intake's customers over writers).
#define KF_FNV_OFFSET 2166136261u
uint32_t kf_fnv1a (uint32_t hash, const void *data, size_t len);

#endif
