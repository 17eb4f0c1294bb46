/*  kf_arena — memory for things that all die together.

    A bump allocator in blocks: allocations are carved one after another out
    of the current block, nothing is freed one by one, and kf_arena_reset
    gives everything back at once (the blocks are kept for the next round,
    up to a limit). For a subscriber's batch of unpacked events: protobuf-c
    otherwise mallocs every message, string and byte field of every event
    and frees them one by one after the batch, a large share of a busy
    subscriber thread's time.

    kf_arena_allocator gives protobuf-c's view of the arena (free is a
    no-op). Built with AddressSanitizer, the arena hands out malloc'd memory
    instead and frees it at reset, so a use after reset is still caught. */
#ifndef KF_ARENA_H
#define KF_ARENA_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

typedef struct _kf_arena_t kf_arena_t;

//  A new arena allocating blocks of block_size bytes (and larger ones for
//  allocations that do not fit). Caller owns return value.
kf_arena_t *kf_arena_new (size_t block_size);
void kf_arena_destroy (kf_arena_t **self_p);

//  size bytes aligned for any type, valid until the next reset; NULL if
//  out of memory.
void *kf_arena_alloc (kf_arena_t *self, size_t size);

//  Everything allocated so far is gone. Keeps up to four blocks' worth of
//  memory for the next round, frees the rest.
void kf_arena_reset (kf_arena_t *self);

//  Bytes handed out since the last reset.
size_t kf_arena_used (const kf_arena_t *self);

//  protobuf-c allocator drawing on the arena (for *_unpack; the matching
//  *_free_unpacked need not be called). Borrowed, lives as long as the arena.
ProtobufCAllocator *kf_arena_allocator (kf_arena_t *self);

#endif
