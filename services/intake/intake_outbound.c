/*  intake_outbound — store, deliver and redeliver commands for gateways. */
#include "intake_outbound.h"

#include "intake_jobs.h"
#include "intake_store.h"
#include "kf_log.h"
#include "kf_valid.h"
#include "kf_wire.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_SUBMIT_MAX 500    //  submissions stored per transaction
#define S_LOAD_LIMIT 100000 //  unsettled commands reloaded after a restart
#define S_TEXT_MAX   8192   //  bytes of command texts

typedef struct {
    char shop_id[KF_SHOP_ID_MAX + 1]; //  shop
    int channel;                      //  channel
    int64_t command_id;               //  id
    uint8_t *frame;                   //  packed IntakeFrame{command}, ready to send
    size_t size;                      //  bytes in frame
    int attempts;                     //  sends so far
    int64_t last_sent;                //  monotonic ms of the last send; 0 = due now
    bool acked;                       //  acked by a gateway, settle not yet stored
    bool settling;                    //  ... and a settle job carries it now
    bool delivered;                   //  the ack's verdict
    char reason[256];                 //  the ack's reason
} s_cmd_t;

struct _intake_outbound_t {
    intake_outbound_deps_t deps; //  borrowed collaborators
    zsock_t *router;             //  command endpoint
    zhashx_t *commands;          //  "<command_id>" -> s_cmd_t (unsettled)
    intake_jobs_t *jobs;         //  store, settle, reload: off the loop
    zloop_t *loop;               //  reads the command endpoint (borrowed)
    bool loaded;                 //  unsettled commands loaded from the store
    bool loading;                //  a reload job is queued or running
    bool settling;               //  a settle job is queued or running
    bool storing;                //  a store job is queued or running (reading paused)
    bool reading;                //  the command endpoint is read
    bool draining;               //  stopping: read no more
    int64_t *submitted;          //  counter: commands stored
    int64_t *submit_dups;        //  counter: repeated submissions
    int64_t *submit_rejected;    //  counter: refused submissions
    int64_t *sent;               //  counter: sends to gateways
    int64_t *resent;             //  counter: of which repeats
    int64_t *settled;            //  counter: acks stored
    int64_t *unknown_acks;       //  counter: acks for unknown commands
};

static void
s_cmd_destroy (void **item_p)
{
    s_cmd_t *c = *item_p;
    if (c) {
        free (c->frame);
        free (c);
        *item_p = NULL;
    }
}

intake_outbound_t *
intake_outbound_new (const intake_outbound_deps_t *deps)
{
    intake_outbound_t *self = calloc (1, sizeof *self);
    self->deps = *deps;
    self->router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, (size_t) deps->config->max_frame);
    self->commands = zhashx_new ();
    zhashx_set_destructor (self->commands, s_cmd_destroy);
    self->jobs = intake_jobs_new (deps->database_url, "commands", self);
    kf_control_t *ctl = deps->control;
    self->submitted = kf_control_counter (ctl, "commands.stored");
    self->submit_dups = kf_control_counter (ctl, "commands.duplicate_submits");
    self->submit_rejected = kf_control_counter (ctl, "commands.rejected_submits");
    self->sent = kf_control_counter (ctl, "commands.sent");
    self->resent = kf_control_counter (ctl, "commands.resent");
    self->settled = kf_control_counter (ctl, "commands.settled");
    self->unknown_acks = kf_control_counter (ctl, "commands.unknown_acks");
    return self;
}

void
intake_outbound_destroy (intake_outbound_t **self_p)
{
    if (self_p && *self_p) {
        intake_outbound_t *self = *self_p;
        intake_jobs_destroy (&self->jobs);
        zsock_destroy (&self->router);
        zhashx_destroy (&self->commands);
        free (self);
        *self_p = NULL;
    }
}

int
intake_outbound_bind (intake_outbound_t *self, const char *endpoint)
{
    intake_auth_secure (self->deps.auth, self->router);
    int rc = zsock_bind (self->router, "%s", endpoint);
    if (rc == -1)
        kf_log_error ("intake.bind_failed", "endpoint=%s error=\"%s\"", endpoint,
                      zmq_strerror (zmq_errno ()));
    return rc;
}

zsock_t *
intake_outbound_socket (intake_outbound_t *self)
{
    return self->router;
}

size_t
intake_outbound_pending (intake_outbound_t *self)
{
    return zhashx_size (self->commands);
}

//  Wrap a packed Command as an IntakeFrame: field 4 (command), wire type 2.
//  Protobuf encodes an embedded message as tag, length, bytes, so the
//  stored command is sent without unpacking it again.
static s_cmd_t *
s_cmd_new (const char *shop_id, int channel, int64_t command_id, const uint8_t *packed, size_t size,
           int attempts)
{
    s_cmd_t *c = calloc (1, sizeof *c);
    snprintf (c->shop_id, sizeof c->shop_id, "%s", shop_id);
    c->channel = channel;
    c->command_id = command_id;
    c->attempts = attempts;
    c->frame = malloc (size + 11);
    size_t n = 0;
    c->frame[n++] = (4 << 3) | 2;
    uint64_t len = size;
    do {
        uint8_t byte = len & 0x7f;
        len >>= 7;
        c->frame[n++] = byte | (len ? 0x80 : 0);
    } while (len);
    memcpy (c->frame + n, packed, size);
    c->size = n + size;
    return c;
}

//  Keep c (takes ownership) unless that command is kept already.
static void
s_keep (intake_outbound_t *self, s_cmd_t *c)
{
    char key[32];
    snprintf (key, sizeof key, "%" PRId64, c->command_id);
    if (zhashx_lookup (self->commands, key))
        s_cmd_destroy ((void **) &c);
    else
        zhashx_insert (self->commands, key, c);
}

//  Send one command to a gateway serving its shop and channel. Returns true
//  if it went out.
static bool
s_send (intake_outbound_t *self, s_cmd_t *c)
{
    intake_session_t *targets[8];
    int n = intake_sessions_serving (self->deps.sessions, c->shop_id, c->channel, targets, 8);
    for (int i = 0; i < n; i++) {
        //  Rotate between the gateways serving the shop on each attempt.
        intake_session_t *s = targets[(c->attempts + i) % n];
        zframe_t *body = zframe_new (c->frame, c->size);
        if (zframe_send (&s->routing_id, self->deps.gateway_router,
                         ZFRAME_MORE | ZFRAME_REUSE | ZFRAME_DONTWAIT) == 0 &&
            zframe_send (&body, self->deps.gateway_router, ZFRAME_DONTWAIT) == 0) {
            if (c->attempts > 0)
                (*self->resent)++;
            c->attempts++;
            c->last_sent = zclock_mono ();
            (*self->sent)++;
            return true;
        }
        zframe_destroy (&body);
        //  The connection is gone (ROUTER_MANDATORY): forget the session.
        kf_log_info ("intake.session_gone", "gateway=%s", s->gateway_id);
        intake_sessions_remove (self->deps.sessions, s->routing_id);
        return false;
    }
    return false;
}

static void
s_deliver_due (intake_outbound_t *self)
{
    int64_t now = zclock_mono ();
    int64_t timeout = self->deps.config->command_ack_timeout;
    for (s_cmd_t *c = zhashx_first (self->commands); c; c = zhashx_next (self->commands)) {
        if (c->acked)
            continue;
        if (c->last_sent == 0 || now - c->last_sent >= timeout)
            //  A failed send leaves the session table changed; stop and let
            //  the next tick carry on with a fresh iteration.
            if (!s_send (self, c) && intake_sessions_size (self->deps.sessions) == 0)
                break;
    }
}

//  ---------------------------------------------------------------------
//  Reloading unsettled commands (after a start), off the loop

typedef struct {
    intake_job_t job; //  run, done
    zlistx_t *found;  //  s_cmd_t read (owned until kept)
} s_load_job_t;

static void
s_on_pending (void *arg, const char *shop_id, int64_t command_id, int channel,
              const uint8_t *payload, size_t size, int attempts)
{
    zlistx_add_end ((zlistx_t *) arg,
                    s_cmd_new (shop_id, channel, command_id, payload, size, attempts));
}

static int
s_load_run (kf_store_t *store, kf_outbox_t *outbox, void *arg)
{
    (void) outbox;
    s_load_job_t *job = arg;
    kf_error_t err;
    kf_error_clear (&err);
    return intake_store_load_pending_commands (store, s_on_pending, job->found, S_LOAD_LIMIT, &err);
}

static void
s_load_free (intake_job_t *job)
{
    zlistx_destroy (&((s_load_job_t *) job)->found);
    free (job);
}

static void
s_load_done (void *owner, intake_job_t *job, int rc)
{
    intake_outbound_t *self = owner;
    s_load_job_t *load = (s_load_job_t *) job;
    self->loading = false;
    if (rc == 0) {
        self->loaded = true;
        //  Each one kept, or freed if a submission kept it meanwhile.
        s_cmd_t *c;
        while ((c = zlistx_detach (load->found, NULL)))
            s_keep (self, c);
        if (zhashx_size (self->commands))
            kf_log_info ("intake.commands_loaded", "unsettled=%zu", zhashx_size (self->commands));
        s_deliver_due (self);
    }
    s_load_free (job);
}

void
intake_outbound_tick (intake_outbound_t *self)
{
    if (!self->loaded && !self->loading) {
        s_load_job_t *job = calloc (1, sizeof *job);
        job->job = (intake_job_t){s_load_run, s_load_done, s_load_free};
        job->found = zlistx_new ();
        zlistx_set_destructor (job->found, s_cmd_destroy);
        self->loading = true;
        intake_jobs_queue (self->jobs, &job->job);
    }
    intake_outbound_flush_acks (self);
    s_deliver_due (self);
}

void
intake_outbound_on_hello (intake_outbound_t *self, const intake_session_t *session)
{
    for (s_cmd_t *c = zhashx_first (self->commands); c; c = zhashx_next (self->commands))
        for (int i = 0; i < session->serves_count; i++)
            if (c->channel == session->serves[i].channel &&
                strcmp (c->shop_id, session->serves[i].shop_id) == 0)
                c->last_sent = 0;
    s_deliver_due (self);
}

void
intake_outbound_on_ack (intake_outbound_t *self, const intake_principal_t *principal,
                        const Kefu__V1__CommandAck *ack)
{
    char key[32];
    snprintf (key, sizeof key, "%" PRId64, ack->command_id);
    s_cmd_t *c = zhashx_lookup (self->commands, key);
    //  Only a gateway allowed to act for the command's shop may settle it.
    if (!c || !intake_auth_in_scope (principal, c->shop_id)) {
        (*self->unknown_acks)++;
        return;
    }
    if (c->acked)
        return; //  the first ack wins
    c->acked = true;
    c->delivered = ack->status == KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED;
    ProtobufCBinaryData reason = ack->reason;
    kf_error_t err;
    if (reason.len && kf_valid_text (&reason, "reason", sizeof c->reason - 1, false, &err) == 0) {
        memcpy (c->reason, reason.data, reason.len);
        c->reason[reason.len] = '\0';
    }
}

//  ---------------------------------------------------------------------
//  Settling acked commands, off the loop

typedef struct {
    intake_job_t job;                  //  run, done
    intake_settle_row_t *rows;         //  the commands settled (strings below)
    char (*shops)[KF_SHOP_ID_MAX + 1]; //  copies: the commands may go meanwhile
    char (*reasons)[256];
    int count;      //  rows
    int64_t now_ms; //  settled at
} s_settle_job_t;

static int
s_settle_run (kf_store_t *store, kf_outbox_t *outbox, void *arg)
{
    s_settle_job_t *job = arg;
    kf_error_t err;
    kf_error_clear (&err);
    return intake_store_settle_commands (store, outbox, job->rows, job->count, job->now_ms, &err);
}

static void
s_settle_free (intake_job_t *job)
{
    s_settle_job_t *settle = (s_settle_job_t *) job;
    free (settle->rows);
    free (settle->shops);
    free (settle->reasons);
    free (settle);
}

//  Settled: forget them; failed: they wait for the next flush.
static void
s_settle_done (void *owner, intake_job_t *job, int rc)
{
    intake_outbound_t *self = owner;
    s_settle_job_t *settle = (s_settle_job_t *) job;
    self->settling = false;
    for (int i = 0; i < settle->count; i++) {
        char key[32];
        snprintf (key, sizeof key, "%" PRId64, settle->rows[i].command_id);
        if (rc == 0)
            zhashx_delete (self->commands, key);
        else {
            s_cmd_t *c = zhashx_lookup (self->commands, key);
            if (c)
                c->settling = false;
        }
    }
    if (rc == 0)
        *self->settled += settle->count;
    s_settle_free (job);
}

int
intake_outbound_flush_acks (intake_outbound_t *self)
{
    if (self->settling)
        return 0; //  one settle at a time: later acks go with the next
    int count = 0;
    for (s_cmd_t *c = zhashx_first (self->commands); c; c = zhashx_next (self->commands))
        if (c->acked && !c->settling)
            count++;
    if (count == 0)
        return 0;
    s_settle_job_t *job = calloc (1, sizeof *job);
    job->job = (intake_job_t){s_settle_run, s_settle_done, s_settle_free};
    job->rows = calloc ((size_t) count, sizeof *job->rows);
    job->shops = calloc ((size_t) count, sizeof *job->shops);
    job->reasons = calloc ((size_t) count, sizeof *job->reasons);
    job->now_ms = kf_clock_now_ms (self->deps.clock);
    int n = 0;
    for (s_cmd_t *c = zhashx_first (self->commands); c; c = zhashx_next (self->commands))
        if (c->acked && !c->settling) {
            c->settling = true;
            snprintf (job->shops[n], sizeof job->shops[n], "%s", c->shop_id);
            snprintf (job->reasons[n], sizeof job->reasons[n], "%s", c->reason);
            job->rows[n] = (intake_settle_row_t){job->shops[n], c->command_id, c->delivered,
                                                 job->reasons[n], c->attempts};
            n++;
        }
    job->count = n;
    self->settling = true;
    intake_jobs_queue (self->jobs, &job->job);
    return 0;
}

//  ---------------------------------------------------------------------
//  Submissions

typedef struct {
    zframe_t *routing_id;             //  owned: where the answer goes
    Kefu__V1__CommandSubmit *submit;  //  owned unpacked request (NULL if refused early)
    char request_id[KF_ID_MAX + 1];   //  validated request id
    char shop_id[KF_SHOP_ID_MAX + 1]; //  validated shop id
    char origin[65];                  //  issuer
    const char *kind;                 //  command kind
    int status;                       //  AckStatus answered
    int64_t command_id;               //  stored id
    kf_error_t error;                 //  why refused
} s_submit_t;

static const char *
s_kind_name (Kefu__V1__Command__KindCase kind)
{
    switch (kind) {
    case KEFU__V1__COMMAND__KIND_ASSIGN:
        return "assign";
    case KEFU__V1__COMMAND__KIND_AUTO_REPLY:
        return "auto_reply";
    case KEFU__V1__COMMAND__KIND_REMINDER:
        return "reminder";
    case KEFU__V1__COMMAND__KIND_NOTICE:
        return "notice";
    case KEFU__V1__COMMAND__KIND_SUGGEST:
        return "suggest";
    default:
        return NULL;
    }
}

//  Quick replies of an assign or suggest command: at most 8, each text
//  required, valid UTF-8, within the text limit.
static int
s_valid_suggestions (size_t n, Kefu__V1__Suggestion **list, const char *field, kf_error_t *err)
{
    if (n > 8)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG,
                             "%s: %zu suggestions, at most 8", field, n);
    for (size_t i = 0; i < n; i++)
        if (kf_valid_text (&list[i]->text, field, S_TEXT_MAX, true, err))
            return -1;
    return 0;
}

static int
s_validate (intake_outbound_t *self, s_submit_t *s, const intake_principal_t *principal)
{
    kf_error_t *err = &s->error;
    Kefu__V1__CommandSubmit *in = s->submit;
    if (kf_valid_id (&in->request_id, "request_id", KF_ID_MAX, err))
        return -1;
    memcpy (s->request_id, in->request_id.data, in->request_id.len);
    s->request_id[in->request_id.len] = '\0';
    Kefu__V1__Command *cmd = in->command;
    if (!cmd)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD, "command is required");
    if (kf_valid_text (&cmd->shop_id, "command.shop_id", KF_SHOP_ID_MAX, true, err) ||
        kf_valid_shop_id ((const char *) cmd->shop_id.data, cmd->shop_id.len, err))
        return -1;
    memcpy (s->shop_id, cmd->shop_id.data, cmd->shop_id.len);
    s->shop_id[cmd->shop_id.len] = '\0';
    if (!intake_auth_shop_known (self->deps.auth, s->shop_id))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP,
                             "shop %s is not registered", s->shop_id);
    if (!principal)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED,
                             "unknown or revoked key");
    if (!intake_auth_insecure (self->deps.auth) && strcmp (principal->role, "service") != 0 &&
        strcmp (principal->role, "admin") != 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                             "principal %s (role %s) may not issue commands", principal->id,
                             principal->role);
    if (!intake_auth_in_scope (principal, s->shop_id))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE,
                             "principal %s may not act for shop %s", principal->id, s->shop_id);
    //  In insecure mode the issuer names itself; otherwise it is the principal.
    const char *origin = principal->id;
    if (intake_auth_insecure (self->deps.auth) && cmd->origin && *cmd->origin) {
        ProtobufCBinaryData o = {strlen (cmd->origin), (uint8_t *) cmd->origin};
        if (kf_valid_id (&o, "command.origin", 64, err))
            return -1;
        origin = cmd->origin;
    }
    snprintf (s->origin, sizeof s->origin, "%s", origin);
    if (kf_valid_enum (&kefu__v1__channel__descriptor, cmd->channel, "command.channel", false, err))
        return -1;
    if (cmd->customer_id.len &&
        kf_valid_id (&cmd->customer_id, "command.customer_id", KF_ID_MAX, err))
        return -1;
    s->kind = s_kind_name (cmd->kind_case);
    switch (cmd->kind_case) {
    case KEFU__V1__COMMAND__KIND_ASSIGN:
        if (cmd->assign->conversation_id <= 0)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                                 "assign.conversation_id is required");
        //  An empty agent_id is an assignment to nobody (a handover that
        //  found nobody free): it names the agent who no longer owns it.
        if (!cmd->assign->agent_id.len && !cmd->assign->previous_agent_id.len)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                                 "assign.agent_id or, back to the queue, "
                                 "assign.previous_agent_id is required");
        if ((cmd->assign->agent_id.len &&
             kf_valid_id (&cmd->assign->agent_id, "assign.agent_id", KF_ID_MAX, err)) ||
            (cmd->assign->previous_agent_id.len &&
             kf_valid_id (&cmd->assign->previous_agent_id, "assign.previous_agent_id", KF_ID_MAX,
                          err)) ||
            kf_valid_enum (&kefu__v1__assign_reason__descriptor, cmd->assign->reason,
                           "assign.reason", true, err) ||
            kf_valid_text (&cmd->assign->note, "assign.note", S_TEXT_MAX, false, err) ||
            s_valid_suggestions (cmd->assign->n_suggestions, cmd->assign->suggestions,
                                 "assign.suggestions", err))
            return -1;
        break;
    case KEFU__V1__COMMAND__KIND_SUGGEST:
        if (cmd->suggest->conversation_id <= 0)
            return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                                 "suggest.conversation_id is required");
        if (kf_valid_id (&cmd->suggest->agent_id, "suggest.agent_id", KF_ID_MAX, err) ||
            kf_valid_enum (&kefu__v1__intent__descriptor, cmd->suggest->intent, "suggest.intent",
                           false, err) ||
            s_valid_suggestions (cmd->suggest->n_suggestions, cmd->suggest->suggestions,
                                 "suggest.suggestions", err))
            return -1;
        break;
    case KEFU__V1__COMMAND__KIND_AUTO_REPLY:
        if (kf_valid_enum (&kefu__v1__auto_reply_kind__descriptor, cmd->auto_reply->kind,
                           "auto_reply.kind", true, err) ||
            kf_valid_text (&cmd->auto_reply->text, "auto_reply.text", S_TEXT_MAX, true, err))
            return -1;
        break;
    case KEFU__V1__COMMAND__KIND_REMINDER:
        if (kf_valid_id (&cmd->reminder->order_id, "reminder.order_id", KF_ID_MAX, err) ||
            kf_valid_enum (&kefu__v1__reminder_kind__descriptor, cmd->reminder->kind,
                           "reminder.kind", false, err) ||
            kf_valid_text (&cmd->reminder->text, "reminder.text", S_TEXT_MAX, true, err))
            return -1;
        break;
    case KEFU__V1__COMMAND__KIND_NOTICE:
        if (kf_valid_id (&cmd->notice->audience, "notice.audience", KF_ID_MAX, err) ||
            kf_valid_enum (&kefu__v1__notice_severity__descriptor, cmd->notice->severity,
                           "notice.severity", true, err) ||
            kf_valid_text (&cmd->notice->text, "notice.text", S_TEXT_MAX, true, err) ||
            (cmd->notice->order_id.len &&
             kf_valid_id (&cmd->notice->order_id, "notice.order_id", KF_ID_MAX, err)))
            return -1;
        break;
    default:
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                             "command has no kind (assign, auto_reply, reminder, notice, suggest)");
    }
    return 0;
}

static void
s_answer (intake_outbound_t *self, s_submit_t *s)
{
    Kefu__V1__CommandSubmitAck ack = KEFU__V1__COMMAND_SUBMIT_ACK__INIT;
    ack.request_id.data = (uint8_t *) s->request_id;
    ack.request_id.len = strlen (s->request_id);
    ack.status = s->status;
    ack.command_id = s->command_id;
    ack.code = s->error.code;
    ack.reason = s->error.reason;
    kf_wire_send (self->router, s->routing_id, &ack.base);
}

//  ---------------------------------------------------------------------
//  Storing submissions, off the loop

typedef struct {
    intake_job_t job;           //  run, done
    s_submit_t *subs;           //  the submissions read (valid or not), owned
    int count;                  //  subs
    int valid;                  //  of which valid (status 0)
    intake_command_row_t *rows; //  the valid ones' rows
    uint8_t **packed;           //  their packed commands
    int64_t now_ms;             //  created at
    int rc;                     //  0: stored (each row's status says how)
    kf_error_t err;             //  why not
} s_store_job_t;

//  Number the valid submissions and store them in one transaction.
static int
s_store_run (kf_store_t *store, kf_outbox_t *outbox, void *arg)
{
    s_store_job_t *job = arg;
    int64_t *ids = calloc ((size_t) job->valid, sizeof *ids);
    int rc = intake_store_reserve_command_ids (store, job->valid, ids, &job->err);
    for (int i = 0, r = 0; rc == 0 && i < job->count; i++) {
        s_submit_t *s = &job->subs[i];
        if (s->status)
            continue;
        Kefu__V1__Command cmd = *s->submit->command;
        cmd.command_id = ids[r];
        cmd.created_at_ms = job->now_ms;
        cmd.origin = s->origin;
        size_t size = kefu__v1__command__get_packed_size (&cmd);
        job->packed[r] = malloc (size ? size : 1);
        kefu__v1__command__pack (&cmd, job->packed[r]);
        job->rows[r] =
            (intake_command_row_t){s->shop_id,     s->origin, s->request_id, cmd.channel, s->kind,
                                   job->packed[r], size,      job->now_ms,   ids[r],      0};
        r++;
    }
    if (rc == 0)
        rc = intake_store_insert_commands (store, outbox, job->rows, job->valid, &job->err);
    free (ids);
    return rc;
}

static void
s_store_free (intake_job_t *job)
{
    s_store_job_t *store = (s_store_job_t *) job;
    for (int i = 0; i < store->count; i++) {
        zframe_destroy (&store->subs[i].routing_id);
        if (store->subs[i].submit)
            kefu__v1__command_submit__free_unpacked (store->subs[i].submit, NULL);
    }
    for (int i = 0; i < store->valid; i++)
        free (store->packed[i]);
    free (store->packed);
    free (store->rows);
    free (store->subs);
    free (store);
}

static int s_handle_submits (zloop_t *loop, zsock_t *reader, void *arg);

//  Stored (or not): keep the new ones to send, answer every issuer, read
//  the next submissions.
static void
s_store_done (void *owner, intake_job_t *job, int rc)
{
    intake_outbound_t *self = owner;
    s_store_job_t *store = (s_store_job_t *) job;
    if (rc != 0 && !store->err.code)
        kf_error_set (&store->err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                      "database unavailable");
    for (int i = 0, r = 0; i < store->count; i++) {
        s_submit_t *s = &store->subs[i];
        if (s->status)
            continue;
        if (rc == 0) {
            s->status = store->rows[r].status;
            s->command_id = store->rows[r].command_id;
            if (s->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED) {
                (*self->submitted)++;
                s_keep (self, s_cmd_new (s->shop_id, store->rows[r].channel, s->command_id,
                                         store->rows[r].payload, store->rows[r].size, 0));
            } else
                (*self->submit_dups)++;
        } else {
            s->status = kf_error_is_retryable (store->err.code)
                            ? KEFU__V1__ACK_STATUS__ACK_RETRY_LATER
                            : KEFU__V1__ACK_STATUS__ACK_REJECTED;
            s->error = store->err;
        }
        r++;
    }
    for (int i = 0; i < store->count; i++)
        if (store->subs[i].routing_id)
            s_answer (self, &store->subs[i]);
    s_store_free (job);
    self->storing = false;
    s_deliver_due (self);
    if (self->loop && !self->reading && !self->draining) {
        zloop_reader (self->loop, self->router, s_handle_submits, self);
        self->reading = true;
    }
}

//  Read the waiting CommandSubmits (up to S_SUBMIT_MAX), answer the invalid
//  ones' issuers with the rest once stored; while they are stored, the
//  endpoint is not read (submitters wait, ZeroMQ holds what comes).
static void
s_read_submits (intake_outbound_t *self)
{
    if (self->storing)
        return;
    s_submit_t *subs = calloc (S_SUBMIT_MAX, sizeof *subs);
    int count = 0;
    while (count < S_SUBMIT_MAX) {
        zmsg_t *msg = kf_wire_recv_nowait (self->router);
        if (!msg)
            break;
        s_submit_t *s = &subs[count];
        s->routing_id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        if (!s->routing_id || !body || zmsg_size (msg) != 0) {
            //  Wrong framing cannot be answered reliably: drop and count.
            zframe_destroy (&s->routing_id);
            zframe_destroy (&body);
            zmsg_destroy (&msg);
            (*self->submit_rejected)++;
            continue;
        }
        const intake_principal_t *principal = intake_auth_principal_of (self->deps.auth, body);
        s->submit = (Kefu__V1__CommandSubmit *) kf_wire_unpack (
            &kefu__v1__command_submit__descriptor, zframe_data (body), zframe_size (body),
            (size_t) self->deps.config->max_frame, &s->error);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
        if (!s->submit || s_validate (self, s, principal)) {
            s->status = KEFU__V1__ACK_STATUS__ACK_REJECTED;
            (*self->submit_rejected)++;
            kf_log_debug ("intake.command_rejected", "code=%s reason=\"%s\"",
                          kf_error_code_name (s->error.code), s->error.reason);
        }
        count++;
    }
    s_store_job_t *job = calloc (1, sizeof *job);
    job->job = (intake_job_t){s_store_run, s_store_done, s_store_free};
    job->subs = subs;
    job->count = count;
    for (int i = 0; i < count; i++)
        job->valid += subs[i].status ? 0 : 1;
    if (job->valid == 0) {
        s_store_done (self, &job->job, 0); //  nothing to store: answer now
        return;
    }
    job->rows = calloc ((size_t) job->valid, sizeof *job->rows);
    job->packed = calloc ((size_t) job->valid, sizeof *job->packed);
    job->now_ms = kf_clock_now_ms (self->deps.clock);
    self->storing = true;
    if (self->loop && self->reading) {
        zloop_reader_end (self->loop, self->router);
        self->reading = false;
    }
    intake_jobs_queue (self->jobs, &job->job);
}

static int
s_handle_submits (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    s_read_submits ((intake_outbound_t *) arg);
    return 0;
}

static int
s_handle_jobs (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    intake_outbound_t *self = arg;
    intake_jobs_on_readable (self->jobs, kf_outbox_socket (self->deps.outbox));
    return 0;
}

void
intake_outbound_start (intake_outbound_t *self, zloop_t *loop)
{
    self->loop = loop;
    zloop_reader (loop, self->router, s_handle_submits, self);
    zloop_reader (loop, intake_jobs_socket (self->jobs), s_handle_jobs, self);
    self->reading = true;
}

void
intake_outbound_finish (intake_outbound_t *self)
{
    intake_jobs_finish (self->jobs, kf_outbox_socket (self->deps.outbox));
}

void
intake_outbound_drain (intake_outbound_t *self)
{
    self->draining = true;
    if (self->loop && self->reading)
        zloop_reader_end (self->loop, self->router);
    self->reading = false;
    intake_outbound_finish (self); //  what is being stored is answered
    intake_outbound_flush_acks (self);
    intake_outbound_finish (self); //  the acks collected are settled
}
