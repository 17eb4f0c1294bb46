/*  metrics_rows — what one transaction's writes collect before a batched
    statement: rows by key in a zhashx_t, each a zeroed block that begins
    with its shop (char shop_id[65]), owned by the map.

    Header only: two small helpers the metrics stores share, without a
    module of their own in the build. */
#ifndef METRICS_ROWS_H
#define METRICS_ROWS_H

#include <czmq.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

static inline void
metrics_rows_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  An empty map of rows. Caller owns return value (zhashx_destroy).
static inline zhashx_t *
metrics_rows_new (void)
{
    zhashx_t *map = zhashx_new ();
    assert (map);
    zhashx_set_destructor (map, metrics_rows_free);
    return map;
}

//  The row of key in map, created zeroed (size bytes) with its shop when
//  there is none. Returns a borrowed reference, valid until the map is
//  purged.
static inline void *
metrics_rows_get (zhashx_t *map, const char *key, const char *shop_id, size_t size)
{
    char *row = zhashx_lookup (map, key);
    if (!row) {
        row = calloc (1, size);
        assert (row);
        snprintf (row, 65, "%s", shop_id); //  every row begins with its shop
        zhashx_insert (map, key, row);
    }
    return row;
}

#endif
