/*  test_kefuctl_shop — `kefuctl shop list` lines its columns up on a
    terminal: with shop names in Chinese and time zones of every length,
    every column starts at the same display column on every line (counted
    with the C library's wcwidth, two columns for a CJK character). */
#include "kt_db.h"
#include "kt_kefuctl.h"

#include <locale.h>
#include <wchar.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define MAX_FIELDS 8

//  Display columns of the first `len` bytes of s.
static int
s_width (const char *s, size_t len)
{
    char *copy = strndup (s, len);
    wchar_t wide[512];
    size_t n = mbstowcs (wide, copy, 512);
    assert_true (n != (size_t) -1);
    int width = wcswidth (wide, n);
    assert_true (width >= 0);
    free (copy);
    return width;
}

//  The display column each field of `line` starts at; fields are separated
//  by two spaces or more. Returns the number of fields.
static int
s_field_starts (const char *line, int *starts)
{
    int n = 0;
    const char *p = line;
    while (*p && n < MAX_FIELDS) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        starts[n++] = s_width (line, (size_t) (p - line));
        while (*p && !(p[0] == ' ' && p[1] == ' '))
            p++;
    }
    return n;
}

static void
test_shop_list_aligns_cjk_names (void **state)
{
    (void) state;
    assert_non_null (setlocale (LC_CTYPE, "C.UTF-8"));
    char *url = kt_db_fresh ("kefuctl_shop");
    KT_EXPECT (url, 0, "shop", "add", "demo-shop", "--name", "演示店铺");
    KT_EXPECT (url, 0, "shop", "add", "tmall-hzfs", "--name", "杭州服饰旗舰店", "--timezone",
               "+08:00");
    KT_EXPECT (url, 0, "shop", "add", "jd-x", "--name", "JD Flagship", "--timezone",
               "America/Los_Angeles");
    KT_EXPECT (url, 0, "shop", "list");
    const char *out = kt_kefuctl_last.out;
    fprintf (stderr, "%s", out);
    int head[MAX_FIELDS];
    int lines = 0, columns = 0;
    for (const char *line = out; *line;) {
        const char *end = strchr (line, '\n');
        assert_non_null (end);
        char *text = strndup (line, (size_t) (end - line));
        int starts[MAX_FIELDS];
        int n = s_field_starts (text, starts);
        if (lines == 0) {
            columns = n;
            memcpy (head, starts, sizeof head);
            assert_int_equal (columns, 4); //  SHOP NAME TIMEZONE PART
        } else {
            assert_int_equal (n, columns);
            for (int i = 0; i < n; i++)
                if (starts[i] != head[i])
                    fail_msg ("line %d, column %d starts at %d, the head's at %d: %s", lines + 1,
                              i + 1, starts[i], head[i], text);
        }
        free (text);
        lines++;
        line = end + 1;
    }
    assert_int_equal (lines, 4);
    assert_non_null (strstr (out, "杭州服饰旗舰店"));
    free (url);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_shop_list_aligns_cjk_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
