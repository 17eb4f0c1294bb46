/*  routing_auth — routing's key pair, intake's public key, ZAP for its events. */
#include "routing_auth.h"

#include "kf_log.h"
#include "kf_zap.h"

#include <inttypes.h>

#include <stdlib.h>
#include <string.h>

#define S_CLIENTS     2     //  client sockets watched (commands, events)
#define S_BACKOFF_MIN 1000  //  ms before connecting a refused client again
#define S_BACKOFF_MAX 30000 //  ... doubling up to this

//  A client socket towards intake, connected again when refused.
typedef struct {
    zsock_t *sock;    //  the client (borrowed)
    char *endpoint;   //  what it connects to
    zsock_t *monitor; //  PAIR receiving its handshake reports
    int64_t retry_at; //  monotonic ms of the next connect, 0 = none due
    int64_t backoff;  //  ms before the next connect after a failure
} s_client_t;

struct _routing_auth_t {
    const routing_config_t *config; //  borrowed
    zcert_t *cert;                  //  routing's key pair (secure mode)
    char server_key[41];            //  intake's public key (Z85; secure mode)
    kf_zap_t *zap;                  //  ZAP handler of the events PUB (secure mode)
    kf_outbox_t *events;            //  the events PUB's outbox (borrowed; secure mode)
    zsock_t *monitor;               //  PAIR receiving the PUB's handshake reports
    s_client_t clients[S_CLIENTS];  //  clients towards intake
    int client_count;               //  clients in use
    int64_t handshake_failures;     //  counted from the monitor
    int64_t next_refresh;           //  monotonic ms of the next principals read
    bool loaded;                    //  principals read at least once
};

routing_auth_t *
routing_auth_new (const routing_config_t *config)
{
    routing_auth_t *self = calloc (1, sizeof *self);
    self->config = config;
    return self;
}

void
routing_auth_destroy (routing_auth_t **self_p)
{
    if (self_p && *self_p) {
        routing_auth_t *self = *self_p;
        zsock_destroy (&self->monitor);
        for (int i = 0; i < self->client_count; i++) {
            zsock_destroy (&self->clients[i].monitor);
            free (self->clients[i].endpoint);
        }
        kf_zap_destroy (&self->zap);
        zcert_destroy (&self->cert);
        free (self);
        *self_p = NULL;
    }
}

bool
routing_auth_insecure (const routing_auth_t *self)
{
    return self->config->insecure;
}

int
routing_auth_start (routing_auth_t *self, char *why, size_t why_size)
{
    const routing_config_t *c = self->config;
    if (c->insecure) {
        kf_log_warn ("routing.insecure",
                     "note=\"KEFU_INSECURE=1: plain sockets; whoever reaches routing's events "
                     "endpoint reads them. Development only.\"");
        return 0;
    }
    if (!*c->secret_key_file) {
        snprintf (why, why_size,
                  "KEFU_ROUTING_SECRET_KEY_FILE is not set (make a key pair with: kefuctl "
                  "principal add routing --role service --all-shops --generate DIR), or set "
                  "KEFU_INSECURE=1 for local development");
        return -1;
    }
    if (!*c->server_key && !*c->server_key_file) {
        snprintf (why, why_size,
                  "intake's public key is not set (KEFU_ROUTING_SERVER_KEY, or "
                  "KEFU_ROUTING_SERVER_KEY_FILE=intake's .key file), or set KEFU_INSECURE=1 for "
                  "local development");
        return -1;
    }
    self->cert = kf_zap_key_pair (c->secret_key_file, why, why_size);
    if (!self->cert ||
        kf_zap_public_key (c->server_key, c->server_key_file, self->server_key, why, why_size))
        return -1;
    self->zap = kf_zap_new (why, why_size);
    if (!self->zap)
        return -1;
    kf_log_info ("routing.curve", "public_key=\"%s\" intake_key=\"%s\"",
                 zcert_public_txt (self->cert), self->server_key);
    return 0;
}

void
routing_auth_client (routing_auth_t *self, zsock_t *sock)
{
    if (self->cert)
        kf_zap_curve_client (sock, self->cert, self->server_key);
}

void
routing_auth_secure_events (routing_auth_t *self, kf_outbox_t *outbox)
{
    if (self->cert) {
        kf_outbox_secure (outbox, self->cert);
        self->events = outbox;
    }
}

int
routing_auth_follow (routing_auth_t *self, kf_subscriber_t *sub, const char *stream,
                     const char *endpoint)
{
    return kf_subscriber_follow_curve (sub, stream, endpoint, self->cert,
                                       self->cert ? self->server_key : NULL);
}

zsock_t *
routing_auth_monitor (routing_auth_t *self, zsock_t *pub)
{
    if (self->config->insecure)
        return NULL;
    self->monitor = kf_zap_monitor (pub, KF_ZAP_FAILED);
    return self->monitor;
}

zsock_t *
routing_auth_watch (routing_auth_t *self, zsock_t *client, const char *endpoint)
{
    if (self->config->insecure || self->client_count == S_CLIENTS || !endpoint || !*endpoint)
        return NULL;
    zsock_t *monitor = kf_zap_monitor (client, KF_ZAP_FAILED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (monitor)
        self->clients[self->client_count++] =
            (s_client_t){client, strdup (endpoint), monitor, 0, S_BACKOFF_MIN};
    return monitor;
}

void
routing_auth_handle_monitor (routing_auth_t *self)
{
    if (self->monitor)
        self->handshake_failures += kf_zap_failures (self->monitor, "routing.handshake_failed");
    for (int i = 0; i < self->client_count; i++) {
        s_client_t *c = &self->clients[i];
        int event;
        uint32_t value;
        char endpoint[256];
        while (kf_zap_monitor_read (c->monitor, &event, &value, endpoint, sizeof endpoint)) {
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
                //  Connected (libzmq tries again by itself after some
                //  failures): nothing to do, and the next failure waits
                //  the shortest time.
                c->retry_at = 0;
                c->backoff = S_BACKOFF_MIN;
                continue;
            }
            kf_log_warn ("routing.refused_by_intake",
                         "endpoint=%s event=0x%x status=%u retry_ms=%" PRId64
                         " note=\"is routing's key registered (kefuctl principal add routing "
                         "--role service), enabled, and KEFU_ROUTING_SERVER_KEY intake's?\"",
                         c->endpoint, event, value, c->backoff);
            if (!c->retry_at)
                c->retry_at = zclock_mono () + c->backoff;
        }
    }
}

void
routing_auth_reconnect (routing_auth_t *self)
{
    int64_t now = zclock_mono ();
    for (int i = 0; i < self->client_count; i++) {
        s_client_t *c = &self->clients[i];
        if (!c->retry_at || now < c->retry_at)
            continue;
        c->retry_at = 0;
        c->backoff = c->backoff * 2 > S_BACKOFF_MAX ? S_BACKOFF_MAX : c->backoff * 2;
        //  The refused connection is gone for libzmq but still counted as
        //  the endpoint's: take it away first.
        zsock_disconnect (c->sock, "%s", c->endpoint);
        if (zsock_connect (c->sock, "%s", c->endpoint) == -1)
            kf_log_warn ("routing.reconnect_failed", "endpoint=%s", c->endpoint);
    }
}

int64_t
routing_auth_handshake_failures (const routing_auth_t *self)
{
    return self->handshake_failures;
}

int
routing_auth_refresh (routing_auth_t *self, kf_store_t *store, bool force)
{
    if (!self->zap || (!force && self->loaded && zclock_mono () < self->next_refresh))
        return 0;
    kf_error_t err;
    kf_error_clear (&err);
    self->next_refresh = zclock_mono () + self->config->auth_refresh;
    int change = kf_zap_load (self->zap, store, &err);
    if (change == -1) {
        kf_log_warn ("routing.auth_refresh_failed", "reason=\"%s\"", err.reason);
        //  Until the first read nobody may subscribe: try again soon.
        if (!self->loaded && self->config->auth_refresh > 1000)
            self->next_refresh = zclock_mono () + 1000;
        return -1;
    }
    //  A revoked key stops reading events at once (see kf_outbox_rebind).
    if (change == KF_ZAP_REVOKED && self->events)
        kf_outbox_rebind (self->events);
    self->loaded = true;
    return 0;
}
