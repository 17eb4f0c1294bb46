/*  kefuctl_table — text tables whose columns line up in a terminal.

    Columns are as wide as their widest cell in display columns, not bytes:
    a CJK character (店, 客服) or a full-width form takes two columns, a
    combining mark none, so names in Chinese line up with ASCII ones. */
#include "kefuctl.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _kefuctl_table_t {
    size_t columns; //  cells per row
    char **cells;   //  rows * columns strings, row by row, owned (row 0: the head)
    size_t rows;    //  rows held, the head included
    size_t cap;     //  rows allocated
};

//  Columns a code point takes: 0 for combining marks and zero-width
//  characters, 2 for East Asian wide and full-width ones, 1 otherwise.
static int
s_code_point_width (uint32_t c)
{
    if ((c >= 0x0300 && c <= 0x036F) || (c >= 0x1AB0 && c <= 0x1AFF) ||
        (c >= 0x1DC0 && c <= 0x1DFF) || (c >= 0x200B && c <= 0x200F) ||
        (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE00 && c <= 0xFE0F) ||
        (c >= 0xFE20 && c <= 0xFE2F) || (c >= 0xE0100 && c <= 0xE01EF))
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) ||
        (c >= 0x3041 && c <= 0x33FF) || (c >= 0x3400 && c <= 0x4DBF) ||
        (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) ||
        (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF60) ||
        (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
        (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

int
kefuctl_text_width (const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    int width = 0;
    while (*p) {
        uint32_t c = *p;
        int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (more)
            c &= 0x3F >> more;
        p++;
        //  The text comes from the database (valid UTF-8); stop at a cut
        //  sequence rather than read past the end.
        for (; more > 0 && (*p & 0xC0) == 0x80; more--, p++)
            c = (c << 6) | (*p & 0x3F);
        width += s_code_point_width (c);
    }
    return width;
}

kefuctl_table_t *
kefuctl_table_new (size_t columns, const char *const *head)
{
    kefuctl_table_t *self = (kefuctl_table_t *) calloc (1, sizeof *self);
    assert (self);
    self->columns = columns;
    kefuctl_table_add (self, head);
    return self;
}

void
kefuctl_table_add (kefuctl_table_t *self, const char *const *cells)
{
    if (self->rows == self->cap) {
        self->cap = self->cap ? self->cap * 2 : 16;
        self->cells = (char **) realloc (self->cells, self->cap * self->columns * sizeof (char *));
        assert (self->cells);
    }
    for (size_t i = 0; i < self->columns; i++) {
        self->cells[self->rows * self->columns + i] = strdup (cells[i] ? cells[i] : "");
        assert (self->cells[self->rows * self->columns + i]);
    }
    self->rows++;
}

void
kefuctl_table_print (const kefuctl_table_t *self, FILE *out)
{
    int *widths = (int *) calloc (self->columns, sizeof (int));
    assert (widths);
    for (size_t r = 0; r < self->rows; r++)
        for (size_t i = 0; i < self->columns; i++) {
            int w = kefuctl_text_width (self->cells[r * self->columns + i]);
            if (w > widths[i])
                widths[i] = w;
        }
    for (size_t r = 0; r < self->rows; r++) {
        for (size_t i = 0; i < self->columns; i++) {
            const char *cell = self->cells[r * self->columns + i];
            fputs (cell, out);
            if (i + 1 < self->columns)
                fprintf (out, "%*s", widths[i] - kefuctl_text_width (cell) + 2, "");
        }
        fputc ('\n', out);
    }
    free (widths);
}

void
kefuctl_table_destroy (kefuctl_table_t **self_p)
{
    kefuctl_table_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->rows * self->columns; i++)
        free (self->cells[i]);
    free (self->cells);
    free (self);
    *self_p = NULL;
}
