/*  test_intake_readme — the README's examples run as written.

    The examples are read out of README.md itself, so this test breaks when
    the README and the programs drift apart:
    - the kefu-push input lines go through the real kefu-push into a real
      intake, and every ack the README shows is the ack that comes back
      (line, id, status, code, reason; stored ids may differ, but lines the
      README gives the same stored id get the same one);
    - the SQL of "The record" runs against what those lines stored;
    - the table of codes in "The record" is the table code_names, and both
      are the wire schema's enums (and intake's and routing's own codes). */
#include "intake_item.h"
#include "kefu/v1/common.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "routing_model.h"

#include <czmq.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "demo-shop"

//  --------------------------------------------------------------------------
//  Reading README.md

//  The whole README. Caller owns return value.
static char *
s_readme (void)
{
    const char *source = getenv ("KEFU_SOURCE_DIR");
    if (!source)
        fail_msg ("KEFU_SOURCE_DIR is not set: run this test through ctest");
    char *path = zsys_sprintf ("%s/README.md", source);
    zchunk_t *chunk = zchunk_slurp (path, 0);
    if (!chunk)
        fail_msg ("cannot read %s", path);
    char *text = zchunk_strdup (chunk);
    zchunk_destroy (&chunk);
    zstr_free (&path);
    return text;
}

//  The text after the first line holding `marker`, up to the next "## "
//  heading (the marker's section). Caller owns return value.
static char *
s_section (const char *readme, const char *marker)
{
    const char *at = strstr (readme, marker);
    if (!at)
        fail_msg ("README.md has no \"%s\"", marker);
    at = strchr (at, '\n');
    assert_non_null (at);
    const char *end = strstr (at, "\n## ");
    size_t len = end ? (size_t) (end - at) : strlen (at);
    return strndup (at + 1, len);
}

//  The n-th (0-based) fenced code block of `text` whose fence names
//  `lang`, without its fences. Caller owns return value.
static char *
s_block (const char *text, const char *lang, int n)
{
    char *fence = zsys_sprintf ("```%s\n", lang);
    const char *at = text;
    for (int i = 0; i <= n; i++) {
        at = strstr (at, fence);
        if (!at)
            fail_msg ("README.md: no %s block number %d where expected", lang, n + 1);
        if (i < n)
            at = strstr (at + strlen (fence), "\n```");
        else
            at += strlen (fence);
        assert_non_null (at);
    }
    const char *end = strstr (at, "```");
    assert_non_null (end);
    zstr_free (&fence);
    return strndup (at, (size_t) (end - at));
}

//  --------------------------------------------------------------------------
//  Running kefu-push

//  Run kefu-push against endpoint on `input`; stdout into *out_p (caller
//  frees), stderr shown in the test log. Returns its exit status.
static int
s_push (const char *endpoint, const char *input, const char *flags, char **out_p)
{
    const char *bin = getenv ("KEFU_TEST_BIN_DIR");
    if (!bin)
        fail_msg ("KEFU_TEST_BIN_DIR is not set: run this test through ctest");
    char dir[] = "/tmp/kefu-readme.XXXXXX";
    assert_non_null (mkdtemp (dir));
    char *in_path = zsys_sprintf ("%s/in", dir);
    char *out_path = zsys_sprintf ("%s/out", dir);
    FILE *f = fopen (in_path, "w");
    assert_non_null (f);
    fputs (input, f);
    fclose (f);
    char *cmd = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s KEFU_PUSH_TIMEOUT=20s "
                              "'%s/clients/push/kefu-push' %s < '%s' > '%s'",
                              endpoint, bin, flags, in_path, out_path);
    int status = system (cmd);
    assert_true (WIFEXITED (status));
    zchunk_t *chunk = zchunk_slurp (out_path, 0);
    *out_p = chunk ? zchunk_strdup (chunk) : strdup ("");
    zchunk_destroy (&chunk);
    remove (in_path);
    remove (out_path);
    rmdir (dir);
    zstr_free (&cmd);
    zstr_free (&out_path);
    zstr_free (&in_path);
    return WEXITSTATUS (status);
}

//  One JSON object per line of text, as an array. Caller owns return value.
static json_t *
s_json_lines (const char *text)
{
    json_t *lines = json_array ();
    char *copy = strdup (text), *save = NULL;
    for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        json_error_t jerr;
        json_t *obj = json_loads (line, 0, &jerr);
        if (!json_is_object (obj))
            fail_msg ("not a JSON object: %s (%s)", line, jerr.text);
        json_array_append_new (lines, obj);
    }
    free (copy);
    return lines;
}

//  The ack of input line `line` in acks, or NULL.
static json_t *
s_ack_of_line (json_t *acks, json_int_t line)
{
    size_t i;
    json_t *ack;
    json_array_foreach (acks, i, ack)
    {
        if (json_integer_value (json_object_get (ack, "line")) == line)
            return ack;
    }
    return NULL;
}

typedef struct {
    char *db;            //  conninfo
    kt_intake_t *intake; //  the service, real clock (the examples have no dates)
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_readme");
    kt_shop_add (f->db, SHOP);
    f->intake = kt_intake_new (f->db, NULL);
    kt_intake_start (f->intake);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_intake_destroy (&f->intake);
    free (f->db);
    free (f);
    return 0;
}

//  Push the README's kefu-push example after `marker` (with flags); its
//  output into *out_p, the answers the README shows into *expected_p.
static int
s_push_readme_example (fixture_t *f, const char *marker, const char *flags, char **out_p,
                       char **expected_p)
{
    char *readme = s_readme ();
    char *section = s_section (readme, marker);
    char *input = s_block (section, "json", 0);
    *expected_p = s_block (section, "json", 1);
    int rc = s_push (f->intake->gateway_endpoint, input, flags, out_p);
    free (input);
    free (section);
    free (readme);
    return rc;
}

//  kefu-push's answers (out, its exit code rc) are the README's.
static void
s_assert_answered_as_shown (const char *out, const char *expected_text, int rc)
{
    fprintf (stderr, "kefu-push said:\n%s", out);
    json_t *expected = s_json_lines (expected_text);
    json_t *acks = s_json_lines (out);
    assert_true (json_array_size (expected) >= 4);
    assert_int_equal (json_array_size (acks), json_array_size (expected));

    bool rejected = false;
    size_t i;
    json_t *want;
    json_array_foreach (expected, i, want)
    {
        json_int_t line = json_integer_value (json_object_get (want, "line"));
        json_t *got = s_ack_of_line (acks, line);
        if (!got)
            fail_msg ("no ack for line %d", (int) line);
        //  The same fields, the same values (stored ids are the database's).
        assert_int_equal (json_object_size (got), json_object_size (want));
        const char *key;
        json_t *value;
        json_object_foreach (want, key, value)
        {
            json_t *actual = json_object_get (got, key);
            if (!actual)
                fail_msg ("line %d: the ack has no \"%s\"", (int) line, key);
            if (strcmp (key, "stored_id") == 0)
                assert_true (json_is_integer (actual));
            else if (!json_equal (actual, value))
                fail_msg ("line %d: \"%s\" is %s, the README says %s", (int) line, key,
                          json_dumps (actual, JSON_ENCODE_ANY),
                          json_dumps (value, JSON_ENCODE_ANY));
        }
        rejected |= strcmp (json_string_value (json_object_get (want, "status")), "rejected") == 0;
        //  Lines with one stored id in the README share it in the record.
        size_t k;
        json_t *other;
        json_array_foreach (expected, k, other)
        {
            if (k <= i || !json_object_get (want, "stored_id") ||
                !json_object_get (other, "stored_id"))
                continue;
            json_t *got_other =
                s_ack_of_line (acks, json_integer_value (json_object_get (other, "line")));
            assert_int_equal (json_equal (json_object_get (want, "stored_id"),
                                          json_object_get (other, "stored_id")),
                              json_equal (json_object_get (got, "stored_id"),
                                          json_object_get (got_other, "stored_id")));
        }
    }
    //  The exit code the README gives: 1 when something was rejected.
    assert_int_equal (rc, rejected ? 1 : 0);
    json_decref (acks);
    json_decref (expected);
}

static void
test_kefu_push_example_is_answered_as_the_readme_shows (void **state)
{
    char *out, *expected_text;
    int rc =
        s_push_readme_example (*state, "One JSON object per line in", "", &out, &expected_text);
    s_assert_answered_as_shown (out, expected_text, rc);
    free (expected_text);
    free (out);
}

//  The order desk's kefu-push lines (dated: --rebase makes them today's).
static void
test_kefu_push_order_example_is_answered_as_the_readme_shows (void **state)
{
    char *out, *expected_text;
    int rc = s_push_readme_example (*state, "These order lines", "--rebase", &out, &expected_text);
    s_assert_answered_as_shown (out, expected_text, rc);
    free (expected_text);
    free (out);
}

//  JSON cannot carry invalid UTF-8: kefu-push refuses such a line itself
//  (malformed), and intake never sees it.
static void
test_kefu_push_refuses_invalid_utf8_itself (void **state)
{
    fixture_t *f = *state;
    char *out;
    int rc = s_push (f->intake->gateway_endpoint,
                     "{\"type\":\"customer_message\",\"shop_id\":\"" SHOP "\",\"id\":\"m-bad\","
                     "\"channel\":\"platform_chat\",\"customer_id\":\"tb_lily88\","
                     "\"body\":\"\xe5\x9c\xa8\xff\"}\n",
                     "", &out);
    assert_int_equal (rc, 1);
    assert_non_null (strstr (out, "{\"line\":1,\"status\":\"rejected\",\"code\":\"malformed\""));
    assert_int_equal (kt_intake_counter (f->intake, "items.rejected.invalid_utf8", NULL), 0);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 0);
    free (out);
}

//  Every `scripts/pg psql kefu -c "..."` of "The record" runs on what the
//  kefu-push example stored and finds it.
static void
test_record_queries_run_as_written (void **state)
{
    fixture_t *f = *state;
    char *out, *expected;
    s_push_readme_example (f, "One JSON object per line in", "", &out, &expected);
    free (out);
    free (expected);
    char *readme = s_readme ();
    char *section = s_section (readme, "## The record");
    PGconn *conn = PQconnectdb (f->db);
    assert_int_equal (PQstatus (conn), CONNECTION_OK);
    int queries = 0;
    const char *prefix = "scripts/pg psql kefu -c \"";
    for (const char *at = strstr (section, prefix); at; at = strstr (at, prefix)) {
        at += strlen (prefix);
        const char *end = strchr (at, '"');
        assert_non_null (end);
        char *sql = strndup (at, (size_t) (end - at));
        PGresult *res = PQexec (conn, sql);
        if (PQresultStatus (res) != PGRES_TUPLES_OK)
            fail_msg ("%s\n-> %s", sql, PQerrorMessage (conn));
        if (PQntuples (res) == 0)
            fail_msg ("%s\n-> no rows", sql);
        //  The customer record by the buyer's id shows the buyer.
        int col = PQfnumber (res, "channel_ids");
        if (col >= 0)
            assert_string_equal (PQgetvalue (res, 0, col), "{platform_chat:tb_lily88}");
        //  Messages with their kinds: by name.
        col = PQfnumber (res, "kind");
        if (col >= 0)
            assert_string_equal (PQgetvalue (res, 0, col), "customer_message");
        PQclear (res);
        free (sql);
        queries++;
    }
    assert_true (queries >= 2);
    PQfinish (conn);
    free (section);
    free (readme);
}

//  What --help and the README's table say about KEFU_INTAKE_MAX_FRAME is
//  what intake does: a frame over it is REJECTED oversized_frame, a frame
//  over twice it disconnects the gateway (no answer).
static void
test_max_frame_is_what_help_and_readme_say (void **state)
{
    fixture_t *f = *state;
    const kf_config_entry_t *e = intake_config_spec.entries;
    while (e->name && strcmp (e->name, "KEFU_INTAKE_MAX_FRAME") != 0)
        e++;
    assert_non_null (e->name);
    assert_non_null (strstr (e->help, "REJECTED oversized_frame"));
    assert_non_null (strstr (e->help, "over twice this the gateway is disconnected"));
    char *readme = s_readme ();
    const char *row = strstr (readme, "| `KEFU_INTAKE_MAX_FRAME` |");
    assert_non_null (row);
    char *line = strndup (row, (size_t) (strchr (row, '\n') - row));
    assert_non_null (strstr (line, "`oversized_frame`"));
    assert_non_null (strstr (line, "over twice that disconnects the gateway"));
    free (line);
    free (readme);

    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "frames", SHOP, &welcomed);
    assert_true (welcomed);
    size_t max = (size_t) f->intake->config.max_frame;
    zframe_t *frame = zframe_new (NULL, max + 1);
    memset (zframe_data (frame), 0, max + 1);
    zframe_send (&frame, gw, 0);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_OVERSIZED_FRAME);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    frame = zframe_new (NULL, 2 * max + 1);
    memset (zframe_data (frame), 0, 2 * max + 1);
    zframe_send (&frame, gw, 0);
    assert_true (kt_gw_silent (gw, 500));
    zsock_destroy (&gw);
}

//  --------------------------------------------------------------------------
//  Codes: README table == code_names == the schema

//  "1 platform_chat, 2 wechat, ..." from an enum descriptor: every value
//  but 0, its name without prefix, in lower case. Caller owns return value.
static char *
s_enum_codes (const ProtobufCEnumDescriptor *desc, const char *prefix)
{
    char *text = strdup ("");
    for (unsigned i = 0; i < desc->n_values; i++) {
        const ProtobufCEnumValue *v = &desc->values[i];
        if (v->value == 0)
            continue;
        assert_int_equal (strncmp (v->name, prefix, strlen (prefix)), 0);
        char *name = strdup (v->name + strlen (prefix));
        for (char *c = name; *c; c++)
            *c = (char) (*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        char *more = zsys_sprintf ("%s%s%d %s", text, *text ? ", " : "", v->value, name);
        free (text);
        free (name);
        text = strdup (more);
        zstr_free (&more);
    }
    return text;
}

static void
test_code_names_are_the_readme_table_and_the_schema (void **state)
{
    fixture_t *f = *state;
    //  What the code says each number means.
    char *kinds = strdup ("");
    for (int k = 1; k <= INTAKE_KIND_COMPLAINT_ACTION; k++) {
        char *more = zsys_sprintf ("%s%s%d %s", kinds, *kinds ? ", " : "", k,
                                   intake_item_kind_name ((intake_kind_t) k));
        free (kinds);
        kinds = strdup (more);
        zstr_free (&more);
    }
    //  Every kind of InboundItem (fields 10..) is one of them.
    int oneof_kinds = 0;
    for (unsigned i = 0; i < kefu__v1__inbound_item__descriptor.n_fields; i++)
        oneof_kinds += kefu__v1__inbound_item__descriptor.fields[i].id >= 10;
    assert_int_equal (oneof_kinds, INTAKE_KIND_COMPLAINT_ACTION);
    char *routing_state = zsys_sprintf ("%d queued, %d assigned", ROUTING_QUEUED, ROUTING_ASSIGNED);
    char *queue_class = zsys_sprintf ("%d urgent, %d aftersales, %d presales", ROUTING_CLASS_URGENT,
                                      ROUTING_CLASS_AFTERSALES, ROUTING_CLASS_PRESALES);
    struct {
        const char *type;
        char *codes;
    } schema[] = {
        {"message_kind", kinds},
        {"channel", s_enum_codes (&kefu__v1__channel__descriptor, "CHANNEL_")},
        {"intent", s_enum_codes (&kefu__v1__intent__descriptor, "INTENT_")},
        {"priority", s_enum_codes (&kefu__v1__priority__descriptor, "PRIORITY_")},
        {"close_reason", s_enum_codes (&kefu__v1__close_reason__descriptor, "CLOSE_REASON_")},
        {"agent_status", s_enum_codes (&kefu__v1__agent_status__descriptor, "AGENT_STATUS_")},
        {"assign_reason", s_enum_codes (&kefu__v1__assign_reason__descriptor, "ASSIGN_REASON_")},
        {"order_state", s_enum_codes (&kefu__v1__order_state__descriptor, "ORDER_")},
        {"payment_method", s_enum_codes (&kefu__v1__payment_method__descriptor, "PAYMENT_")},
        {"routing_state", routing_state},
        {"queue_class", queue_class},
        {"complaint_stage", s_enum_codes (&kefu__v1__complaint_stage__descriptor, "COMPLAINT_")},
        {"complaint_category",
         s_enum_codes (&kefu__v1__complaint_category__descriptor, "COMPLAINT_")},
        {"responsible_party",
         s_enum_codes (&kefu__v1__responsible_party__descriptor, "RESPONSIBLE_")},
        {"remedy", s_enum_codes (&kefu__v1__remedy__descriptor, "REMEDY_")},
        {"review_outcome", s_enum_codes (&kefu__v1__review_outcome__descriptor, "REVIEW_")},
    };
    size_t types = sizeof schema / sizeof schema[0];

    //  The README's table: | `type` | columns | codes |
    char *readme = s_readme ();
    char *section = s_section (readme, "## The record");
    size_t rows = 0;
    for (const char *at = strstr (section, "\n| `"); at; at = strstr (at + 1, "\n| `")) {
        const char *end = strchr (at + 1, '\n');
        assert_non_null (end);
        char *line = strndup (at + 1, (size_t) (end - at - 1));
        //  Cells: "", " `type` ", " columns ", " codes ", "".
        char *cells[5] = {NULL};
        int n = 0;
        char *save = NULL;
        for (char *c = strtok_r (line, "|", &save); c && n < 5; c = strtok_r (NULL, "|", &save))
            cells[n++] = c;
        assert_int_equal (n, 3);
        char *name = strtok_r (cells[0], " `", &save);
        if (strcmp (name, "code_type") == 0) { //  the table's head
            free (line);
            continue;
        }
        char *readme_codes = cells[2] + 1;
        readme_codes[strlen (readme_codes) - 1] = '\0';
        bool found = false;
        for (size_t i = 0; i < types; i++) {
            if (strcmp (schema[i].type, name) != 0)
                continue;
            found = true;
            if (strcmp (schema[i].codes, readme_codes) != 0)
                fail_msg ("README.md, codes of %s: \"%s\"; the schema: \"%s\"", name, readme_codes,
                          schema[i].codes);
            //  And the database's code_names.
            char *sql = zsys_sprintf ("SELECT string_agg (code || ' ' || name, ', ' ORDER BY code) "
                                      "FROM code_names WHERE code_type = '%s'",
                                      name);
            char *db_codes = kt_db_query1 (f->db, sql);
            if (strcmp (db_codes, schema[i].codes) != 0)
                fail_msg ("code_names of %s: \"%s\"; the schema: \"%s\"", name, db_codes,
                          schema[i].codes);
            free (db_codes);
            zstr_free (&sql);
        }
        if (!found)
            fail_msg ("README.md lists codes \"%s\" the test does not know", name);
        free (line);
        rows++;
    }
    assert_int_equal (rows, types);
    assert_int_equal (kt_db_count (f->db, "SELECT count (DISTINCT code_type) FROM code_names"),
                      (long long) types);
    for (size_t i = 0; i < types; i++)
        free (schema[i].codes);
    free (section);
    free (readme);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_kefu_push_example_is_answered_as_the_readme_shows,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_kefu_push_order_example_is_answered_as_the_readme_shows, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_kefu_push_refuses_invalid_utf8_itself, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_record_queries_run_as_written, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_max_frame_is_what_help_and_readme_say, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_code_names_are_the_readme_table_and_the_schema,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
