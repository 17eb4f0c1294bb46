/*  kf_arena — memory for things that all die together (see kf_arena.h). */
#include "kf_arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define S_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_CHECKED 1
#endif
#endif

#define S_ALIGN alignof (max_align_t)
#define S_KEEP  4 //  blocks' worth kept across a reset

typedef struct _s_block_t s_block_t;
struct _s_block_t {
    s_block_t *next; //  next block (older, or spare)
    size_t size;     //  bytes of data
    alignas (max_align_t) char data[];
};

struct _kf_arena_t {
    size_t block_size; //  default block size
    s_block_t *blocks; //  blocks in use, newest first
    s_block_t *spare;  //  kept for the next round
    size_t used;       //  in the newest block
    size_t handed_out; //  since the last reset
    ProtobufCAllocator allocator;
#ifdef S_CHECKED
    void **chunks; //  AddressSanitizer: each allocation separately
    size_t chunk_count, chunk_cap;
#endif
};

static void *
s_pb_alloc (void *data, size_t size)
{
    return kf_arena_alloc (data, size);
}

static void
s_pb_free (void *data, void *pointer)
{
    (void) data;
    (void) pointer;
}

kf_arena_t *
kf_arena_new (size_t block_size)
{
    kf_arena_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->block_size = block_size ? block_size : 65536;
    self->allocator.alloc = s_pb_alloc;
    self->allocator.free = s_pb_free;
    self->allocator.allocator_data = self;
    return self;
}

static void
s_free_blocks (s_block_t *b)
{
    while (b) {
        s_block_t *next = b->next;
        free (b);
        b = next;
    }
}

void
kf_arena_destroy (kf_arena_t **self_p)
{
    if (self_p && *self_p) {
        kf_arena_t *self = *self_p;
        kf_arena_reset (self);
        s_free_blocks (self->blocks);
        s_free_blocks (self->spare);
#ifdef S_CHECKED
        free (self->chunks);
#endif
        free (self);
        *self_p = NULL;
    }
}

void *
kf_arena_alloc (kf_arena_t *self, size_t size)
{
    if (size == 0)
        size = 1;
    size_t rounded = (size + S_ALIGN - 1) / S_ALIGN * S_ALIGN;
    if (rounded < size)
        return NULL;
#ifdef S_CHECKED
    if (self->chunk_count == self->chunk_cap) {
        size_t cap = self->chunk_cap ? self->chunk_cap * 2 : 256;
        void **chunks = realloc (self->chunks, cap * sizeof *chunks);
        if (!chunks)
            return NULL;
        self->chunks = chunks;
        self->chunk_cap = cap;
    }
    void *chunk = malloc (size);
    if (chunk) {
        self->chunks[self->chunk_count++] = chunk;
        self->handed_out += rounded;
    }
    return chunk;
#else
    s_block_t *b = self->blocks;
    if (!b || b->size - self->used < rounded) {
        //  A spare block if it is big enough, else a new one.
        s_block_t *fresh = NULL;
        if (self->spare && self->spare->size >= rounded) {
            fresh = self->spare;
            self->spare = fresh->next;
        } else {
            size_t data = rounded > self->block_size ? rounded : self->block_size;
            if (data > SIZE_MAX - sizeof (s_block_t))
                return NULL;
            fresh = malloc (sizeof (s_block_t) + data);
            if (!fresh)
                return NULL;
            fresh->size = data;
        }
        fresh->next = self->blocks;
        self->blocks = fresh;
        self->used = 0;
        b = fresh;
    }
    void *p = b->data + self->used;
    self->used += rounded;
    self->handed_out += rounded;
    return p;
#endif
}

void
kf_arena_reset (kf_arena_t *self)
{
#ifdef S_CHECKED
    for (size_t i = 0; i < self->chunk_count; i++)
        free (self->chunks[i]);
    self->chunk_count = 0;
#endif
    //  Blocks in use become spares; keep the spares to S_KEEP blocks' worth.
    while (self->blocks) {
        s_block_t *b = self->blocks;
        self->blocks = b->next;
        b->next = self->spare;
        self->spare = b;
    }
    size_t kept = 0;
    s_block_t **link = &self->spare;
    while (*link) {
        s_block_t *b = *link;
        if (kept + b->size > S_KEEP * self->block_size) {
            *link = b->next;
            free (b);
        } else {
            kept += b->size;
            link = &b->next;
        }
    }
    self->used = 0;
    self->handed_out = 0;
}

size_t
kf_arena_used (const kf_arena_t *self)
{
    return self->handed_out;
}

ProtobufCAllocator *
kf_arena_allocator (kf_arena_t *self)
{
    return &self->allocator;
}
