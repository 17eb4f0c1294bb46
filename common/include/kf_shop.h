/*  kf_shop — a shop's event partition.

    Every event topic and sequence is per (stream, partition), and a shop
    always lives in one partition, so several instances of a service can
    split the shops between them by subscribing to different partitions. */
#ifndef KF_SHOP_H
#define KF_SHOP_H

#include <stddef.h>

#define KF_PARTITIONS 16

//  The partition (0..KF_PARTITIONS-1) of a shop id: FNV-1a of its bytes.
unsigned kf_shop_partition (const char *shop_id, size_t len);

#endif
