/*  test_intake_storm — a duplicate storm stores each item exactly once.

    20,000 unique items, each sent 5 times: twice on one connection and
    three times on a second connection of the same gateway, interleaved so
    that copies of one item are in flight on both connections at once, then
    the whole set replayed again later. Exactly 20,000 rows; every send gets
    a final ack, ACCEPTED or DUPLICATE, ACCEPTED exactly once per item, and
    every ack of an item carries the same stored id. */
#include "kefu_gateway.h"
#include "kf_log.h"
#include "kt_db.h"
#include "kt_intake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP  "shop-storm"
#define ITEMS 20000

typedef struct {
    int acks;               //  final acks
    int accepted;           //  ACCEPTED
    int other;              //  neither ACCEPTED nor DUPLICATE
    int *accepted_per_item; //  ACCEPTED count per item
    int64_t *stored;        //  stored id per item (all acks must agree)
    int disagreements;      //  acks whose stored id differs from an earlier one
} s_tally_t;

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_tally_t *t = arg;
    char id[32];
    snprintf (id, sizeof id, "%.*s", (int) ack->gateway_msg_id.len,
              (const char *) ack->gateway_msg_id.data);
    int index = atoi (id + 2);
    assert_true (index >= 0 && index < ITEMS);
    t->acks++;
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED) {
        t->accepted++;
        t->accepted_per_item[index]++;
    } else if (ack->status != KEFU__V1__ACK_STATUS__ACK_DUPLICATE)
        t->other++;
    if (t->stored[index] && t->stored[index] != ack->stored_id)
        t->disagreements++;
    t->stored[index] = ack->stored_id;
}

static kefu_gateway_t *
s_connect (const char *endpoint, s_tally_t *tally)
{
    kefu_gateway_options_t opts = kefu_gateway_options_default ();
    opts.endpoint = endpoint;
    opts.gateway_id = "storm"; //  both connections are the same gateway
    opts.window = 2000;
    kefu_gateway_t *gw = kefu_gateway_new (&opts);
    assert_non_null (gw);
    kefu_gateway_on_ack (gw, s_on_ack, tally);
    return gw;
}

static void
s_send (kefu_gateway_t *gw, int index, kefu_gateway_t *other)
{
    char id[32], body[64];
    snprintf (id, sizeof id, "s-%d", index);
    snprintf (body, sizeof body, "催发货 #%d", index);
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    msg.customer_id = kefu_gateway_text ("tb_storm");
    msg.body = kefu_gateway_text (body);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    item.shop_id = kefu_gateway_text (SHOP);
    item.gateway_msg_id = kefu_gateway_text (id);
    item.sent_at_ms = kefu_gateway_now_ms ();
    item.channel = KEFU__V1__CHANNEL__CHANNEL_WEB_CHAT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    item.customer_message = &msg;
    while (kefu_gateway_send (gw, &item) == -1) {
        kefu_gateway_poll (gw, 5);
        kefu_gateway_poll (other, 0);
    }
}

static void
test_duplicate_storm (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("intake_storm");
    kt_shop_add (db, SHOP);
    kt_intake_t *intake = kt_intake_new (db, NULL);
    kt_intake_start (intake);
    s_tally_t tally = {0, 0, 0, calloc (ITEMS, sizeof (int)), calloc (ITEMS, sizeof (int64_t)), 0};
    kefu_gateway_t *a = s_connect (intake->gateway_endpoint, &tally);
    kefu_gateway_t *b = s_connect (intake->gateway_endpoint, &tally);
    //  Round 1: each item twice on A and twice on B, back to back.
    for (int i = 0; i < ITEMS; i++) {
        s_send (a, i, b);
        s_send (b, i, a);
        s_send (a, i, b);
        s_send (b, i, a);
        kefu_gateway_poll (a, 0);
        kefu_gateway_poll (b, 0);
    }
    assert_int_equal (kefu_gateway_flush (a, 120000), 0);
    assert_int_equal (kefu_gateway_flush (b, 120000), 0);
    //  Round 2, much later: the whole set once more on B.
    for (int i = 0; i < ITEMS; i++)
        s_send (b, i, a);
    assert_int_equal (kefu_gateway_flush (b, 120000), 0);

    assert_int_equal (tally.acks, 5 * ITEMS);
    assert_int_equal (tally.other, 0);
    assert_int_equal (tally.accepted, ITEMS);
    for (int i = 0; i < ITEMS; i++)
        assert_int_equal (tally.accepted_per_item[i], 1);
    assert_int_equal (tally.disagreements, 0);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM messages"), ITEMS);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM events WHERE kind = "
                                       "'message.accepted'"),
                      ITEMS);
    assert_int_equal (kt_db_count (db, "SELECT message_count FROM customer_profiles"), ITEMS);
    kefu_gateway_destroy (&a);
    kefu_gateway_destroy (&b);
    kt_intake_destroy (&intake);
    free (tally.accepted_per_item);
    free (tally.stored);
    free (db);
}

int
main (void)
{
    kf_log_init ("test-intake-storm");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_duplicate_storm),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
