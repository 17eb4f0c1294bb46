/*  test_escalation_severity — the bad-review severity dictionary: the
    shipped file, an edited one, and the files it refuses. */
#include "escalation_severity.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

//  Write text to a temporary file; returns its path (static buffer).
static const char *
s_file (const char *text)
{
    static char path[64];
    snprintf (path, sizeof path, "/tmp/kefu-test-severity-%d.json", getpid ());
    FILE *f = fopen (path, "w");
    assert_non_null (f);
    fputs (text, f);
    fclose (f);
    return path;
}

static void
test_the_shipped_dictionary_weighs_the_rating_and_the_words (void **state)
{
    (void) state;
    char why[256];
    esc_severity_t *d = esc_severity_load (esc_severity_default_path (), why, sizeof why);
    if (!d)
        fail_msg ("%s", why);
    assert_int_equal (esc_severity_of (d, 3, false, "一般般"), 2);
    assert_int_equal (esc_severity_of (d, 2, false, "不太好"), 3);
    assert_int_equal (esc_severity_of (d, 1, false, "质量差"), 4);
    assert_int_equal (esc_severity_of (d, 1, false, "假货, 要投诉到12315"), 5);
    assert_int_equal (esc_severity_of (d, 0, false, ""), 3);      //  negative
    assert_int_equal (esc_severity_of (d, 0, true, NULL), 2);     //  neutral
    assert_int_equal (esc_severity_of (d, 0, true, "a SCAM"), 3); //  ASCII case ignored
    esc_severity_destroy (&d);
    assert_null (d);
}

static void
test_an_edited_dictionary_changes_the_severity (void **state)
{
    (void) state;
    char why[256];
    esc_severity_t *d = esc_severity_load (
        s_file ("{\"_note\": \"x\", \"base\": {\"stars_1\": 5, \"stars_2\": 4, \"stars_3\": 1, "
                "\"negative\": 2, \"neutral\": 1}, \"words\": [\"退货\", \"色差\"]}"),
        why, sizeof why);
    if (!d)
        fail_msg ("%s", why);
    assert_int_equal (esc_severity_word_count (d), 2);
    assert_int_equal (esc_severity_of (d, 3, false, "有色差"), 2);
    assert_int_equal (esc_severity_of (d, 0, false, "要退货，有色差"), 4);
    assert_int_equal (esc_severity_of (d, 0, false, "投诉"), 2); //  not a word of this one
    esc_severity_destroy (&d);
}

static void
test_invalid_dictionaries_are_refused_with_the_reason (void **state)
{
    (void) state;
    struct {
        const char *text;
        const char *reason;
    } bad[] = {
        {"{", "cannot read"},
        {"[]", "not a JSON object"},
        {"{\"base\": {\"stars_1\": 4, \"stars_2\": 3, \"stars_3\": 2, \"negative\": 3, "
         "\"neutral\": 2}, \"words\": [], \"extra\": 1}",
         "unknown key extra"},
        {"{\"base\": {\"stars_1\": 4}, \"words\": []}", "base stars_2 is missing"},
        {"{\"base\": {\"stars_1\": 9, \"stars_2\": 3, \"stars_3\": 2, \"negative\": 3, "
         "\"neutral\": 2}, \"words\": []}",
         "base stars_1 must be 1..5"},
        {"{\"base\": {\"stars_1\": 4, \"stars_2\": 3, \"stars_3\": 2, \"negative\": 3, "
         "\"neutral\": 2}, \"words\": [\"骗\", \"骗\"]}",
         "words[1] appears twice"},
        {"{\"base\": {\"stars_1\": 4, \"stars_2\": 3, \"stars_3\": 2, \"negative\": 3, "
         "\"neutral\": 2}, \"words\": [\"\"]}",
         "words[0] must be"},
        {"{\"base\": {\"stars_1\": 4, \"stars_2\": 3, \"stars_3\": 2, \"negative\": 3, "
         "\"neutral\": 2}}",
         "words is missing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char why[256] = "";
        esc_severity_t *d = esc_severity_load (s_file (bad[i].text), why, sizeof why);
        if (d || !strstr (why, bad[i].reason))
            fail_msg ("case %zu: loaded=%d why=\"%s\", expected \"%s\"", i, d != NULL, why,
                      bad[i].reason);
    }
    char why[256];
    assert_null (esc_severity_load ("/nonexistent/severity.json", why, sizeof why));
    assert_non_null (strstr (why, "/nonexistent/severity.json"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_the_shipped_dictionary_weighs_the_rating_and_the_words),
        cmocka_unit_test (test_an_edited_dictionary_changes_the_severity),
        cmocka_unit_test (test_invalid_dictionaries_are_refused_with_the_reason),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    char path[64];
    snprintf (path, sizeof path, "/tmp/kefu-test-severity-%d.json", getpid ());
    unlink (path);
    return rc;
}
