/*  kf_commands — see kf_commands.h */
#include "kf_commands.h"

#include "kefu/v1/gateway.pb-c.h"
#include "kf_log.h"
#include "kf_wire.h"

#include <stdlib.h>
#include <string.h>

#define S_WINDOW 1000 //  default: sent and not acknowledged

struct _kf_commands_t {
    char service[32];            //  log prefix
    zsock_t *intake;             //  DEALER to intake's command endpoint (borrowed)
    zmq_msg_t ack_frame;         //  intake's last CommandSubmitAck (reused)
    zhashx_t *unacked;           //  "shop request" -> kf_command_t (sent, not acked)
    zhashx_t *by_request;        //  request id -> kf_command_t (chain by next_id)
    zlistx_t *decided;           //  kf_command_t of the current transaction
    zlistx_t *sealed;            //  ... of the transaction under way
    zlistx_t *waiting;           //  kept, not sent yet (decision order), borrowed
    zlistx_t *flight;            //  sent, not acked, oldest send first, borrowed
    size_t window;               //  most commands in flight
    kf_commands_store_fn *store; //  the service's row writer
    kf_commands_acked_fn *acked; //  the service's ack handler
    void *arg;
    int64_t *c_issued;
    int64_t *c_resent;
    int64_t *c_acked;
    int64_t *c_refused;
};

static void
s_command_destroy (kf_command_t **c_p)
{
    kf_command_t *c = *c_p;
    if (c) {
        zchunk_destroy (&c->frame);
        free (c);
        *c_p = NULL;
    }
}

static kf_command_t *
s_command_new (const char *shop_id, const char *request_id, const void *frame, size_t size,
               bool stored, int64_t tag)
{
    kf_command_t *c = calloc (1, sizeof *c);
    snprintf (c->shop_id, sizeof c->shop_id, "%s", shop_id);
    snprintf (c->request_id, sizeof c->request_id, "%s", request_id);
    c->frame = zchunk_new (frame, size);
    c->stored = stored;
    c->tag = tag;
    return c;
}

static void
s_key (char *buf, size_t size, const char *shop_id, const char *request_id)
{
    snprintf (buf, size, "%s %s", shop_id, request_id);
}

kf_commands_t *
kf_commands_new (const char *service, zsock_t *intake, kf_control_t *control,
                 kf_commands_store_fn *store, kf_commands_acked_fn *acked, void *arg)
{
    kf_commands_t *self = calloc (1, sizeof *self);
    snprintf (self->service, sizeof self->service, "%s", service);
    self->intake = intake;
    zmq_msg_init (&self->ack_frame);
    self->unacked = zhashx_new ();
    self->by_request = zhashx_new ();
    self->decided = zlistx_new ();
    self->sealed = zlistx_new ();
    self->waiting = zlistx_new ();
    self->flight = zlistx_new ();
    self->window = S_WINDOW;
    self->store = store;
    self->acked = acked;
    self->arg = arg;
    self->c_issued = kf_control_counter (control, "commands.issued");
    self->c_resent = kf_control_counter (control, "commands.resent");
    self->c_acked = kf_control_counter (control, "commands.acked");
    self->c_refused = kf_control_counter (control, "commands.refused");
    return self;
}

static void
s_purge (zlistx_t *list)
{
    kf_command_t *c;
    while ((c = zlistx_detach (list, NULL)))
        s_command_destroy (&c);
}

//  Take c out of the unacknowledged (it is not destroyed).
static void
s_unlink (kf_commands_t *self, kf_command_t *c)
{
    if (c->handle)
        zlistx_detach (c->in_flight ? self->flight : self->waiting, c->handle);
    c->handle = NULL;
    c->in_flight = false;
    char key[256];
    s_key (key, sizeof key, c->shop_id, c->request_id);
    zhashx_delete (self->unacked, key);
    kf_command_t *first = zhashx_lookup (self->by_request, c->request_id);
    if (first == c) {
        zhashx_delete (self->by_request, c->request_id);
        if (c->next_id)
            zhashx_insert (self->by_request, c->request_id, c->next_id);
    } else
        for (kf_command_t *p = first; p; p = p->next_id)
            if (p->next_id == c) {
                p->next_id = c->next_id;
                break;
            }
    c->next_id = NULL;
}

static void
s_forget (kf_commands_t *self, kf_command_t *c)
{
    s_unlink (self, c);
    s_command_destroy (&c);
}

//  Keep c as unacknowledged, in place of the same request's older one.
static void
s_keep (kf_commands_t *self, kf_command_t *c)
{
    kf_command_t *old = kf_commands_lookup (self, c->shop_id, c->request_id);
    if (old)
        s_forget (self, old);
    char key[256];
    s_key (key, sizeof key, c->shop_id, c->request_id);
    zhashx_insert (self->unacked, key, c);
    kf_command_t *first = zhashx_lookup (self->by_request, c->request_id);
    if (first)
        c->next_id = first->next_id, first->next_id = c;
    else
        zhashx_insert (self->by_request, c->request_id, c);
    c->in_flight = false;
    c->handle = zlistx_add_end (self->waiting, c);
}

void
kf_commands_destroy (kf_commands_t **self_p)
{
    kf_commands_t *self = *self_p;
    if (!self)
        return;
    s_purge (self->decided);
    s_purge (self->sealed);
    zlistx_destroy (&self->decided);
    zlistx_destroy (&self->sealed);
    zlistx_destroy (&self->waiting); //  borrowed pointers: before the hash
    zlistx_destroy (&self->flight);
    for (kf_command_t *c = zhashx_first (self->unacked); c; c = zhashx_next (self->unacked))
        s_command_destroy (&c);
    zhashx_destroy (&self->unacked);
    zhashx_destroy (&self->by_request);
    zmq_msg_close (&self->ack_frame);
    free (self);
    *self_p = NULL;
}

int
kf_commands_store (kf_commands_t *self, kf_command_t *c, kf_error_t *err)
{
    if (self->store (self->arg, c, err))
        return -1;
    c->stored = true;
    return 0;
}

int
kf_commands_decide (kf_commands_t *self, const char *shop_id, const char *request_id,
                    const void *frame, size_t size, bool store, int64_t tag, kf_error_t *err)
{
    kf_command_t *c = s_command_new (shop_id, request_id, frame, size, false, tag);
    if (store && kf_commands_store (self, c, err)) {
        s_command_destroy (&c);
        return -1;
    }
    zlistx_add_end (self->decided, c);
    return 0;
}

zlistx_t *
kf_commands_decided (kf_commands_t *self)
{
    return self->decided;
}

kf_command_t *
kf_commands_lookup (kf_commands_t *self, const char *shop_id, const char *request_id)
{
    kf_command_t *c = zhashx_lookup (self->by_request, request_id);
    while (c && shop_id && strcmp (c->shop_id, shop_id) != 0)
        c = c->next_id;
    return c;
}

void
kf_commands_cancel (kf_commands_t *self, const char *shop_id, const char *request_id)
{
    for (kf_command_t *c = zlistx_first (self->decided); c; c = zlistx_next (self->decided))
        if (strcmp (c->request_id, request_id) == 0 && strcmp (c->shop_id, shop_id) == 0) {
            zlistx_detach_cur (self->decided);
            s_command_destroy (&c);
            break;
        }
    kf_command_t *c = kf_commands_lookup (self, shop_id, request_id);
    if (c)
        s_forget (self, c);
}

//  Send c (again); it goes to the end of the in-flight list. 0, or -1
//  when the socket takes no more now (not connected, or full).
static int
s_send (kf_commands_t *self, kf_command_t *c)
{
    zframe_t *frame = zframe_new (zchunk_data (c->frame), zchunk_size (c->frame));
    if (zframe_send (&frame, self->intake, ZFRAME_DONTWAIT) != 0) {
        zframe_destroy (&frame); //  the next resend or ack retries
        return -1;
    }
    if (c->last_sent)
        (*self->c_resent)++;
    c->last_sent = zclock_mono ();
    if (c->in_flight)
        zlistx_move_end (self->flight, c->handle);
    else {
        zlistx_detach (self->waiting, c->handle);
        c->handle = zlistx_add_end (self->flight, c);
        c->in_flight = true;
    }
    return 0;
}

//  Send what waits, oldest decision first, while the window has room.
static void
s_pump (kf_commands_t *self)
{
    kf_command_t *c;
    while (zlistx_size (self->flight) < self->window && (c = zlistx_first (self->waiting)))
        if (s_send (self, c))
            break;
}

static void
s_commit_list (kf_commands_t *self, zlistx_t *list)
{
    kf_command_t *c;
    while ((c = zlistx_detach (list, NULL))) {
        (*self->c_issued)++;
        s_keep (self, c);
    }
    s_pump (self);
}

void
kf_commands_commit (kf_commands_t *self)
{
    s_commit_list (self, self->decided);
}

void
kf_commands_seal (kf_commands_t *self)
{
    kf_command_t *c;
    while ((c = zlistx_detach (self->decided, NULL)))
        zlistx_add_end (self->sealed, c);
}

void
kf_commands_commit_sealed (kf_commands_t *self)
{
    s_commit_list (self, self->sealed);
}

void
kf_commands_discard (kf_commands_t *self)
{
    s_purge (self->decided);
}

void
kf_commands_rollback (kf_commands_t *self)
{
    s_purge (self->decided);
    s_purge (self->sealed);
}

void
kf_commands_restore (kf_commands_t *self, const char *shop_id, const char *request_id,
                     const void *frame, size_t size, bool stored, int64_t tag)
{
    if (kf_commands_lookup (self, shop_id, request_id))
        return;
    s_keep (self, s_command_new (shop_id, request_id, frame, size, stored, tag));
}

void
kf_commands_handle_acks (kf_commands_t *self)
{
    int frames;
    while ((frames = kf_wire_recv_parts (self->intake, &self->ack_frame, 1)) > 0) {
        Kefu__V1__CommandSubmitAck *ack =
            frames == 1
                ? kefu__v1__command_submit_ack__unpack (NULL, zmq_msg_size (&self->ack_frame),
                                                        zmq_msg_data (&self->ack_frame))
                : NULL;
        if (!ack)
            continue;
        char request_id[160];
        snprintf (request_id, sizeof request_id, "%.*s", (int) ack->request_id.len,
                  (const char *) ack->request_id.data);
        kf_command_t *c = kf_commands_lookup (self, NULL, request_id);
        if (c && ack->status != KEFU__V1__ACK_STATUS__ACK_RETRY_LATER) {
            bool refused = ack->status == KEFU__V1__ACK_STATUS__ACK_REJECTED;
            if (refused) {
                //  Permanent: kept in the record, not sent again.
                (*self->c_refused)++;
                char event[64];
                snprintf (event, sizeof event, "%s.command_refused", self->service);
                kf_log_error (event, "request=%s code=%s reason=\"%s\"", request_id,
                              kf_error_code_name (ack->code), ack->reason);
            } else
                (*self->c_acked)++;
            //  Its place in the window goes to the next one at once: the
            //  service's callback may take a round trip per ack.
            if (self->acked (self->arg, c, refused) == 0) {
                s_forget (self, c);
                s_pump (self);
            }
        }
        kefu__v1__command_submit_ack__free_unpacked (ack, NULL);
    }
    s_pump (self);
}

int
kf_commands_reader (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    kf_commands_handle_acks ((kf_commands_t *) arg);
    return 0;
}

void
kf_commands_resend (kf_commands_t *self, int64_t timeout)
{
    //  The in-flight list is in order of the last send: stop at the first
    //  one not due (each one sent moves to the end: look at each once).
    int64_t mono = zclock_mono ();
    for (size_t n = zlistx_size (self->flight); n > 0; n--) {
        kf_command_t *c = zlistx_first (self->flight);
        if ((timeout && mono - c->last_sent < timeout) || s_send (self, c))
            break;
    }
    s_pump (self);
}

void
kf_commands_set_window (kf_commands_t *self, size_t window)
{
    self->window = window ? window : 1;
}

size_t
kf_commands_in_flight (kf_commands_t *self)
{
    return zlistx_size (self->flight);
}

size_t
kf_commands_unacked (kf_commands_t *self)
{
    return zhashx_size (self->unacked);
}
