/*  intake_jobs — a queue of database jobs run off the loop. */
#include "intake_jobs.h"

#include <assert.h>

struct _intake_jobs_t {
    intake_writer_t *writer; //  runs the jobs (its own connection and thread)
    zlistx_t *waiting;       //  intake_job_t, oldest first
    intake_job_t *running;   //  the job the writer runs now (NULL: idle)
    void *owner;             //  given to done
};

static void
s_job_free (void **item_p)
{
    intake_job_t *job = *item_p;
    if (job)
        job->destroy (job);
    *item_p = NULL;
}

intake_jobs_t *
intake_jobs_new (const char *database_url, const char *name, void *owner)
{
    intake_jobs_t *self = calloc (1, sizeof *self);
    assert (self);
    self->writer = intake_writer_new_named (database_url, name, NULL);
    self->waiting = zlistx_new ();
    zlistx_set_destructor (self->waiting, s_job_free);
    self->owner = owner;
    return self;
}

void
intake_jobs_destroy (intake_jobs_t **self_p)
{
    if (self_p && *self_p) {
        intake_jobs_t *self = *self_p;
        intake_writer_destroy (&self->writer); //  waits for the job it runs
        s_job_free ((void **) &self->running);
        zlistx_destroy (&self->waiting);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
intake_jobs_socket (intake_jobs_t *self)
{
    return intake_writer_socket (self->writer);
}

//  Hand the writer the oldest job waiting, if it is idle.
static void
s_kick (intake_jobs_t *self)
{
    if (self->running || zlistx_size (self->waiting) == 0)
        return;
    self->running = zlistx_detach (self->waiting, NULL);
    intake_writer_run (self->writer, self->running->run, self->running);
}

void
intake_jobs_queue (intake_jobs_t *self, intake_job_t *job)
{
    zlistx_add_end (self->waiting, job);
    s_kick (self);
}

//  The writer is done (or will be: this waits): publish, then done.
static void
s_collect (intake_jobs_t *self, zsock_t *pub)
{
    int rc = -1;
    intake_job_t *job = intake_writer_collect_job (self->writer, pub, &rc);
    assert (job == self->running);
    self->running = NULL;
    job->done (self->owner, job, rc);
}

void
intake_jobs_on_readable (intake_jobs_t *self, zsock_t *pub)
{
    //  (A driven clock may have collected it already: never wait here.)
    if (self->running && (zsock_events (intake_jobs_socket (self)) & ZMQ_POLLIN))
        s_collect (self, pub);
    s_kick (self);
}

void
intake_jobs_finish (intake_jobs_t *self, zsock_t *pub)
{
    while (self->running) {
        s_collect (self, pub);
        s_kick (self);
    }
}

void
intake_jobs_drop (intake_jobs_t *self, zsock_t *pub)
{
    if (self->running)
        s_collect (self, pub); //  its events are published; what waits is dropped
    zlistx_purge (self->waiting);
}

size_t
intake_jobs_pending (intake_jobs_t *self)
{
    return zlistx_size (self->waiting) + (self->running ? 1 : 0);
}
