/*  intake_jobs — work on PostgreSQL handed off the loop that reads the
    gateways: a queue of jobs run one at a time by a writer of their own
    (its thread, its connection, its outbox). The loop never waits on the
    database: it queues a job and, when the queue's socket is readable,
    collects it and runs its done callback.

    Intake runs two queues: the keeper (the quiet-period sweep, the auth
    refresh, the customer keys at start) and the commands' (storing
    submitted commands, settling acked ones, reloading unsettled ones).

        intake_jobs_t *jobs = intake_jobs_new (database_url, "keeper", owner);
        zloop_reader (loop, intake_jobs_socket (jobs), handler, ...);
        ... intake_jobs_queue (jobs, &my_job->job);
        handler: intake_jobs_on_readable (jobs, pub);
        intake_jobs_destroy (&jobs); */
#ifndef INTAKE_JOBS_H
#define INTAKE_JOBS_H

#include <czmq.h>
#include <stdbool.h>

#include "intake_writer.h"

typedef struct _intake_job_t intake_job_t;
//  Back on the loop, once the job ran: rc is what run returned; owner is
//  the queue's owner. Owns the job (frees it or queues it again).
typedef void (intake_job_done_fn) (void *owner, intake_job_t *job, int rc);

//  Embed as the first member of a job's own struct.
struct _intake_job_t {
    intake_writer_job_fn *run;           //  on the queue's thread, with its connection
    intake_job_done_fn *done;            //  back on the loop
    void (*destroy) (intake_job_t *job); //  frees a job that will not run
};

typedef struct _intake_jobs_t intake_jobs_t;

//  name: the connection's application_name suffix ("keeper", "commands").
intake_jobs_t *intake_jobs_new (const char *database_url, const char *name, void *owner);
//  Waits for the job running; drops those waiting.
void intake_jobs_destroy (intake_jobs_t **self_p);
//  Readable when the running job is done.
zsock_t *intake_jobs_socket (intake_jobs_t *self);
//  Queue a job (takes ownership); it starts at once if nothing runs.
void intake_jobs_queue (intake_jobs_t *self, intake_job_t *job);
//  The socket is readable: publish the job's committed events on pub, run
//  its done, start the next. Never waits.
void intake_jobs_on_readable (intake_jobs_t *self, zsock_t *pub);
//  Run every job queued to its end, waiting (a driven clock's answer).
void intake_jobs_finish (intake_jobs_t *self, zsock_t *pub);
//  Wait for the job running (its done runs), drop those waiting (drain).
void intake_jobs_drop (intake_jobs_t *self, zsock_t *pub);
//  Jobs running or waiting.
size_t intake_jobs_pending (intake_jobs_t *self);

#endif
