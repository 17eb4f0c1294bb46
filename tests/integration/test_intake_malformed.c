/*  test_intake_malformed — hostile frames never crash, stall or slow intake.

    A valid item frame is sent truncated at every byte offset, then with
    thousands of random bit flips, then with unknown enum values, then a
    16 MiB frame; meanwhile a second gateway sends good items, and every one
    of them must be acknowledged ACCEPTED. Run under ASan/UBSan by the test
    command, this is also the regression net for protobuf-c decode bugs. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_log.h"
#include "kf_wire.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "shop-m"

typedef struct {
    char *db;            //  conninfo
    kt_intake_t *intake; //  the service
    zsock_t *bad;        //  the hostile gateway
    zsock_t *good;       //  the well-behaved gateway
    int good_sent;       //  good items sent
    int good_acked;      //  good items ACCEPTED
} fixture_t;

//  Send one good item and collect whatever acks have arrived for it.
static void
s_good_traffic (fixture_t *f)
{
    char id[32];
    snprintf (id, sizeof id, "good-%d", f->good_sent++);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, id, "tb_good", "亲，在吗？", zclock_time ());
    kt_gw_send_item (f->good, &item);
}

static void
s_collect_good (fixture_t *f, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (f->good, NULL);
    while (f->good_acked < f->good_sent && zpoller_wait (poller, timeout_ms) == f->good) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->good);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        f->good_acked++;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    zpoller_destroy (&poller);
}

//  Read every answer to hostile frames that arrives within ms; each must be
//  a final ack, never RETRY_LATER.
static int
s_drain_bad (fixture_t *f, int ms, int *accepted)
{
    int acks = 0;
    while (!kt_gw_silent (f->bad, ms)) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->bad);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        assert_int_not_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER);
        if (in->ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            (*accepted)++;
        else if (in->ack->status == KEFU__V1__ACK_STATUS__ACK_REJECTED)
            assert_true (in->ack->code != 0 && strlen (in->ack->reason) > 0);
        acks++;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    return acks;
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_malformed");
    kt_shop_add (f->db, SHOP);
    f->intake = kt_intake_new (f->db, NULL);
    kt_intake_start (f->intake);
    bool welcomed = false;
    f->bad = kt_gw_connect (f->intake->gateway_endpoint, "hostile", SHOP, &welcomed);
    assert_true (welcomed);
    f->good = kt_gw_connect (f->intake->gateway_endpoint, "honest", SHOP, &welcomed);
    assert_true (welcomed);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    zsock_destroy (&f->bad);
    zsock_destroy (&f->good);
    kt_intake_destroy (&f->intake);
    free (f->db);
    free (f);
    return 0;
}

static zframe_t *
s_valid_frame (const char *id)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, id, "tb_fuzz", "我要退货，尺码不对 refund please",
                   zclock_time ());
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_ITEM;
    frame.item = &item;
    return kf_wire_pack (&frame.base);
}

static void
test_truncated_at_every_offset (void **state)
{
    fixture_t *f = *state;
    zframe_t *valid = s_valid_frame ("trunc-1");
    size_t size = zframe_size (valid);
    int accepted = 0, acks = 0;
    for (size_t cut = 0; cut < size; cut++) {
        zframe_t *part = zframe_new (zframe_data (valid), cut);
        zframe_send (&part, f->bad, 0);
        if (cut % 8 == 0)
            s_good_traffic (f);
        acks += s_drain_bad (f, 0, &accepted);
    }
    acks += s_drain_bad (f, 500, &accepted);
    //  Every truncation is answered and none is stored: the fields that make
    //  an item valid come last in the encoding.
    assert_int_equal (acks, (int) size);
    assert_int_equal (accepted, 0);
    s_collect_good (f, 5000);
    assert_int_equal (f->good_acked, f->good_sent);
    //  The whole frame is still accepted afterwards.
    zframe_send (&valid, f->bad, 0);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->bad);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_id = "
                                          "'hostile'"),
                      1);
}

static void
test_random_bit_flips (void **state)
{
    fixture_t *f = *state;
    unsigned seed = 20261123;
    int accepted = 0, acks = 0;
    const int rounds = 3000;
    for (int i = 0; i < rounds; i++) {
        char id[32];
        snprintf (id, sizeof id, "flip-%d", i);
        zframe_t *frame = s_valid_frame (id);
        uint8_t *data = zframe_data (frame);
        int flips = 1 + (int) (rand_r (&seed) % 4);
        for (int k = 0; k < flips; k++) {
            size_t at = rand_r (&seed) % zframe_size (frame);
            data[at] ^= (uint8_t) (1u << (rand_r (&seed) % 8));
        }
        zframe_send (&frame, f->bad, 0);
        if (i % 16 == 0)
            s_good_traffic (f);
        acks += s_drain_bad (f, 0, &accepted);
        if (i % 50 == 0)
            s_collect_good (f, 0);
    }
    acks += s_drain_bad (f, 1000, &accepted);
    //  Every flipped frame got exactly one answer (none was a two-frame
    //  message, so none may be dropped); what was accepted is stored, once.
    assert_int_equal (acks, rounds);
    s_collect_good (f, 5000);
    assert_int_equal (f->good_acked, f->good_sent);
    long long stored = kt_db_count (f->db, "SELECT count(*) FROM messages WHERE "
                                           "gateway_id = 'hostile'");
    assert_int_equal (stored, accepted);
}

static void
test_unknown_enums_and_huge_frames (void **state)
{
    fixture_t *f = *state;
    //  Unknown enum values: channel 42, agent status 99.
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "enum-1", "tb_x", "hi", zclock_time ());
    item.channel = 42;
    kt_gw_send_item (f->bad, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->bad);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    presence.agent_id = kt_text ("a1");
    presence.status = 99;
    item.channel = KEFU__V1__CHANNEL__CHANNEL_WECHAT;
    item.gateway_msg_id = kt_text ("enum-2");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &presence;
    kt_gw_send_item (f->bad, &item);
    in = kt_gw_recv (f->bad);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_ENUM);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    //  A 16 MiB frame: the socket disconnects the sender before allocating
    //  it; nothing comes back, and the honest gateway carries on.
    zsock_t *giant = zsock_new_dealer (f->intake->gateway_endpoint);
    zsock_set_sndhwm (giant, 0);
    zframe_t *huge = zframe_new (NULL, 16u << 20);
    memset (zframe_data (huge), 0x0a, 16u << 20);
    zframe_send (&huge, giant, 0);
    for (int i = 0; i < 50; i++)
        s_good_traffic (f);
    s_collect_good (f, 5000);
    assert_int_equal (f->good_acked, f->good_sent);
    assert_true (kt_gw_silent (giant, 500));
    zsock_destroy (&giant);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE gateway_id = "
                                          "'hostile'"),
                      0);
}

//  An agent id outside the one rule of every service (kf_valid_agent_id,
//  the agents table's) is refused with INVALID_VALUE: it could never name
//  an agent routing knows.
static void
test_an_agent_id_outside_the_agent_rule_is_rejected (void **state)
{
    fixture_t *f = *state;
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
    item.shop_id = kt_text (SHOP);
    item.channel = KEFU__V1__CHANNEL__CHANNEL_WECHAT;
    item.sent_at_ms = zclock_time ();
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &presence;
    const char *bad[] = {"小美", "shop:xiaomei", "-xiaomei"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char id[32];
        snprintf (id, sizeof id, "agent-id-%zu", i);
        item.gateway_msg_id = kt_text (id);
        presence.agent_id = kt_text (bad[i]);
        kt_gw_send_item (f->bad, &item);
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->bad);
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
        assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    presence.agent_id = kt_text ("xiao.mei@shop");
    item.gateway_msg_id = kt_text ("agent-id-ok");
    kt_gw_send_item (f->bad, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->bad);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
}

int
main (void)
{
    kf_log_init ("test-intake-malformed");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_truncated_at_every_offset, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_random_bit_flips, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_unknown_enums_and_huge_frames, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_an_agent_id_outside_the_agent_rule_is_rejected,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
