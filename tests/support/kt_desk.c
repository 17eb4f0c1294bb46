/*  kt_desk — intake, routing and metrics at a shop's desk, for tests. */
#include "kt_desk.h"

#include "kt_gw.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

void
kt_desk_start (kt_desk_t *self, char *db, const char *shop, const char *at)
{
    self->db = db;
    snprintf (self->shop, sizeof self->shop, "%s", shop);
    self->clock = kf_clock_new_manual (kf_clock_parse_utc (at));
    self->intake = kt_intake_new (self->db, self->clock);
    kt_intake_start (self->intake);
    kt_routing_start (&self->routing, self->db, self->intake->events_endpoint,
                      self->intake->command_endpoint, self->clock);
    char routing_events[64];
    snprintf (routing_events, sizeof routing_events, "tcp://127.0.0.1:%d",
              kt_routing_port (&self->routing, "events"));
    kt_metrics_init (&self->metrics, self->db, self->intake->events_endpoint, routing_events);
    kt_desk_start_metrics (self);
    bool welcomed = false;
    self->gw = kt_gw_connect (self->intake->gateway_endpoint, "desk-gw", shop, &welcomed);
    assert_true (welcomed);
}

void
kt_desk_start_metrics (kt_desk_t *self)
{
    kt_metrics_start (&self->metrics, self->clock);
    snprintf (self->endpoint, sizeof self->endpoint, "KEFU_METRICS_ENDPOINT=%s",
              self->metrics.query);
}

void
kt_desk_stop (kt_desk_t *self)
{
    zsock_destroy (&self->gw);
    kt_metrics_stop (&self->metrics);
    kt_metrics_free (&self->metrics);
    kt_routing_stop (&self->routing);
    kt_intake_destroy (&self->intake);
    kf_clock_destroy (&self->clock);
    free (self->db);
    self->db = NULL;
}

void
kt_desk_push (kt_desk_t *self, const char *at, Kefu__V1__InboundItem *item)
{
    int64_t when = kf_clock_parse_utc (at);
    assert_int_equal (kf_clock_set (self->clock, when), 0);
    char id[32];
    snprintf (id, sizeof id, "desk-%d", ++self->seq);
    item->shop_id = kt_text (self->shop);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = when;
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (self->gw, item);
    kt_routing_settle (&self->routing, self->db);
}

void
kt_desk_presence (kt_desk_t *self, const char *at, const char *agent, int status)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    presence.agent_id = kt_text (agent);
    presence.status = status;
    presence.handover_note = kt_text ("");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &presence;
    kt_desk_push (self, at, &item);
}

void
kt_desk_line (kt_desk_t *self, const char *at, const char *customer, const char *agent,
              const char *text)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    if (!agent) {
        msg.customer_id = kt_text (customer);
        msg.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
        item.customer_message = &msg;
    } else {
        reply.customer_id = kt_text (customer);
        reply.agent_id = kt_text (agent);
        reply.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
        item.agent_reply = &reply;
    }
    kt_desk_push (self, at, &item);
}

int
kt_desk_teardown (void **state)
{
    kt_desk_stop (*state);
    free (*state);
    *state = NULL;
    return 0;
}
