/*  kf_batch — PostgreSQL binary arrays built column by column.

    Binary array format (array_send): int32 ndim, int32 has-nulls flag,
    uint32 element type oid, then per dimension int32 size and int32 lower
    bound, then per element int32 length (-1 = NULL) and the element's binary
    form. All integers are big-endian. */
#include "kf_batch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define S_HEADER 20 //  ndim, flags, oid, size, lbound

typedef struct {
    kf_col_type_t type; //  element type
    uint8_t *data;      //  S_HEADER bytes reserved, then elements
    size_t size;        //  bytes used
    size_t cap;         //  bytes allocated
    int count;          //  elements
    bool has_null;      //  any NULL element
} s_column_t;

struct _kf_batch_t {
    int ncols;        //  columns
    s_column_t *cols; //  ncols columns
};

static uint32_t
s_oid (kf_col_type_t type)
{
    switch (type) {
    case KF_COL_TEXT:
        return 25;
    case KF_COL_BYTEA:
        return 17;
    case KF_COL_INT8:
        return 20;
    case KF_COL_INT4:
        return 23;
    case KF_COL_INT2:
        return 21;
    case KF_COL_BOOL:
        return 16;
    }
    return 0;
}

static void
s_put32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}

static uint8_t *
s_reserve (s_column_t *c, size_t n)
{
    if (c->size + n > c->cap) {
        size_t cap = c->cap ? c->cap : 256;
        while (cap < c->size + n)
            cap *= 2;
        uint8_t *data = realloc (c->data, cap);
        assert (data);
        c->data = data;
        c->cap = cap;
    }
    uint8_t *p = c->data + c->size;
    c->size += n;
    return p;
}

kf_batch_t *
kf_batch_new (int ncols, const kf_col_type_t *types)
{
    kf_batch_t *self = calloc (1, sizeof *self);
    self->ncols = ncols;
    self->cols = calloc ((size_t) ncols, sizeof (s_column_t));
    for (int i = 0; i < ncols; i++) {
        self->cols[i].type = types[i];
        s_reserve (&self->cols[i], S_HEADER);
    }
    return self;
}

void
kf_batch_destroy (kf_batch_t **self_p)
{
    if (self_p && *self_p) {
        kf_batch_t *self = *self_p;
        for (int i = 0; i < self->ncols; i++)
            free (self->cols[i].data);
        free (self->cols);
        free (self);
        *self_p = NULL;
    }
}

static s_column_t *
s_col (kf_batch_t *self, int col)
{
    assert (col >= 0 && col < self->ncols);
    return &self->cols[col];
}

void
kf_batch_text (kf_batch_t *self, int col, const void *data, size_t len)
{
    s_column_t *c = s_col (self, col);
    assert (c->type == KF_COL_TEXT || c->type == KF_COL_BYTEA);
    uint8_t *p = s_reserve (c, 4 + len);
    s_put32 (p, (uint32_t) len);
    if (len)
        memcpy (p + 4, data, len);
    c->count++;
}

void
kf_batch_str (kf_batch_t *self, int col, const char *s)
{
    kf_batch_text (self, col, s, strlen (s));
}

void
kf_batch_int (kf_batch_t *self, int col, int64_t v)
{
    s_column_t *c = s_col (self, col);
    int width = c->type == KF_COL_INT8 ? 8 : c->type == KF_COL_INT4 ? 4 : 2;
    assert (c->type == KF_COL_INT8 || c->type == KF_COL_INT4 || c->type == KF_COL_INT2);
    uint8_t *p = s_reserve (c, 4 + (size_t) width);
    s_put32 (p, (uint32_t) width);
    uint64_t u = (uint64_t) v;
    for (int i = 0; i < width; i++)
        p[4 + i] = (uint8_t) (u >> (8 * (width - 1 - i)));
    c->count++;
}

void
kf_batch_bool (kf_batch_t *self, int col, bool v)
{
    s_column_t *c = s_col (self, col);
    assert (c->type == KF_COL_BOOL);
    uint8_t *p = s_reserve (c, 5);
    s_put32 (p, 1);
    p[4] = v ? 1 : 0;
    c->count++;
}

void
kf_batch_null (kf_batch_t *self, int col)
{
    s_column_t *c = s_col (self, col);
    uint8_t *p = s_reserve (c, 4);
    s_put32 (p, 0xFFFFFFFFu);
    c->has_null = true;
    c->count++;
}

int
kf_batch_rows (const kf_batch_t *self)
{
    int rows = self->ncols ? self->cols[0].count : 0;
    for (int i = 1; i < self->ncols; i++)
        if (self->cols[i].count < rows)
            rows = self->cols[i].count;
    return rows;
}

void
kf_batch_params (kf_batch_t *self, kf_params_t *params)
{
    for (int i = 0; i < self->ncols; i++) {
        s_column_t *c = &self->cols[i];
        //  The last row must be complete in every column.
        assert (c->count == self->cols[0].count);
        s_put32 (c->data, 1);
        s_put32 (c->data + 4, c->has_null ? 1 : 0);
        s_put32 (c->data + 8, s_oid (c->type));
        s_put32 (c->data + 12, (uint32_t) c->count);
        s_put32 (c->data + 16, 1);
        if (c->count == 0) {
            //  An empty array has no dimensions: send only the first 12 bytes.
            s_put32 (c->data, 0);
            kf_params_binary (params, c->data, 12);
        } else
            kf_params_binary (params, c->data, c->size);
    }
}

void
kf_batch_reset (kf_batch_t *self)
{
    for (int i = 0; i < self->ncols; i++) {
        self->cols[i].size = S_HEADER;
        self->cols[i].count = 0;
        self->cols[i].has_null = false;
    }
}

void
kf_batch_pipeline_add (kf_batch_t **self_p, kf_store_t *store, const char *stmt)
{
    if (kf_batch_rows (*self_p) > 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (*self_p, &params);
        kf_store_pipeline_add (store, stmt, &params, NULL, NULL);
    }
    kf_batch_destroy (self_p);
}
