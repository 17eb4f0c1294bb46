/*  bench_service — start, wait for and stop kefu services; run tools. */
#include "bench_service.h"

#include "bench_stats.h"
#include "kf_control.h"
#include "kf_daemon.h"
#include "kt_process.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define S_READY_TIMEOUT_US 30000000

struct _bench_service_t {
    char name[32];             //  "intake"
    pid_t pid;                 //  child process (0: an actor)
    zactor_t *actor;           //  in-process service (NULL: a process)
    char control_endpoint[64]; //  where it answers StatusRequest
};

int
bench_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0 &&
        getsockname (fd, (struct sockaddr *) &addr, &len) == 0)
        port = ntohs (addr.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

void
bench_service_bin (char *out, size_t size, const char *path)
{
    char services[256];
    snprintf (services, sizeof services, "services/%s", path);
    kt_process_bin (out, size, services);
}

//  Our environment with env's entries replacing or added to it, in one
//  array made before fork (the child of a threaded process may only call
//  async-signal-safe functions). Caller frees the array (not the strings).
static char **
s_environment (const char *const *env, bool log_level_default)
{
    size_t ours = 0, extra = 0;
    while (environ[ours])
        ours++;
    while (env && env[extra])
        extra++;
    char **out = calloc (ours + extra + 2, sizeof (char *));
    if (!out)
        return NULL;
    size_t n = 0;
    bool have_level = false;
    for (size_t i = 0; i < ours; i++) {
        const char *eq = strchr (environ[i], '=');
        size_t len = eq ? (size_t) (eq - environ[i]) : strlen (environ[i]);
        bool replaced = false;
        for (size_t k = 0; k < extra && !replaced; k++)
            replaced = strncmp (env[k], environ[i], len) == 0 && env[k][len] == '=';
        if (strncmp (environ[i], "KEFU_LOG_LEVEL=", 15) == 0)
            have_level = true;
        if (!replaced)
            out[n++] = environ[i];
    }
    for (size_t k = 0; k < extra; k++) {
        if (strncmp (env[k], "KEFU_LOG_LEVEL=", 15) == 0)
            have_level = true;
        out[n++] = (char *) env[k];
    }
    if (log_level_default && !have_level)
        out[n++] = "KEFU_LOG_LEVEL=warn";
    return out;
}

bench_service_t *
bench_service_spawn (const char *name, const char *bin, const char *const *env,
                     const char *control_endpoint, const char *log_path)
{
    if (access (bin, X_OK)) {
        fprintf (stderr, "bench: %s is not executable (build it, or drop --no-build)\n", bin);
        return NULL;
    }
    bench_service_t *self = calloc (1, sizeof *self);
    char **envp = s_environment (env, true);
    if (!self || !envp) {
        free (self);
        free (envp);
        return NULL;
    }
    snprintf (self->name, sizeof self->name, "%s", name);
    snprintf (self->control_endpoint, sizeof self->control_endpoint, "%s", control_endpoint);
    int log_fd = -1;
    if (log_path && (log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
        fprintf (stderr, "bench: cannot write %s: %s\n", log_path, strerror (errno));
    const char *argv[] = {bin, NULL};
    self->pid = kt_process_spawn (argv, envp, -1, log_fd, SIGTERM);
    if (log_fd >= 0)
        close (log_fd);
    free (envp);
    if (self->pid < 0) {
        fprintf (stderr, "bench: cannot start %s: %s\n", bin, strerror (errno));
        free (self);
        return NULL;
    }
    int64_t deadline = bench_now_us () + S_READY_TIMEOUT_US;
    while (bench_now_us () < deadline) {
        Kefu__V1__ControlReply *reply = bench_service_status (self, 500);
        bool up = reply && reply->status && reply->status->store_connected;
        if (reply)
            kefu__v1__control_reply__free_unpacked (reply, NULL);
        if (up)
            return self;
        int status;
        if (waitpid (self->pid, &status, WNOHANG) == self->pid) {
            fprintf (stderr, "bench: %s exited at start (exit code %d%s%s)\n", name,
                     kt_process_exit_code (status), log_path ? "; its log: " : "",
                     log_path ? log_path : "");
            self->pid = 0;
            free (self);
            return NULL;
        }
        zclock_sleep (100);
    }
    fprintf (stderr, "bench: %s did not answer on %s\n", name, control_endpoint);
    bench_service_stop (&self, 1, NULL);
    return NULL;
}

bench_service_t *
bench_service_actor (const char *name, zactor_fn *actor, void *args)
{
    bench_service_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->name, sizeof self->name, "%s", name);
    self->actor = zactor_new (actor, args);
    zstr_send (self->actor, "START");
    char *reply = zstr_recv (self->actor);
    bool ok = reply && strcmp (reply, "OK") == 0;
    if (!ok)
        fprintf (stderr, "bench: %s did not start: %s\n", name, reply ? reply : "-");
    free (reply);
    if (!ok) {
        bench_service_stop (&self, 1, NULL);
        return NULL;
    }
    snprintf (self->control_endpoint, sizeof self->control_endpoint, "tcp://127.0.0.1:%d",
              bench_service_port (self, "control"));
    //  The actor's thread inherited our name: give it its own, so its CPU
    //  time can be told apart.
    char thread[32];
    snprintf (thread, sizeof thread, "bench-%s", name);
    bench_thread_rename_others ("bench-main", thread);
    return self;
}

int
bench_service_port (bench_service_t *self, const char *name)
{
    if (!self->actor)
        return -1;
    zstr_sendx (self->actor, "PORT", name, NULL);
    char *reply = zstr_recv (self->actor);
    int port = reply ? atoi (reply) : -1;
    free (reply);
    return port > 0 ? port : -1;
}

zactor_t *
bench_service_pipe (bench_service_t *self)
{
    return self->actor;
}

pid_t
bench_service_pid (const bench_service_t *self)
{
    return self->pid;
}

const char *
bench_service_name (const bench_service_t *self)
{
    return self->name;
}

const char *
bench_service_control (const bench_service_t *self)
{
    return self->control_endpoint;
}

Kefu__V1__ControlReply *
bench_service_status (const bench_service_t *self, int timeout_ms)
{
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__StatusRequest status = KEFU__V1__STATUS_REQUEST__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_STATUS;
    req.status = &status;
    return kf_control_call (self->control_endpoint, &req, timeout_ms);
}

int64_t
bench_service_counter (const bench_service_t *self, const char *name)
{
    Kefu__V1__ControlReply *reply = bench_service_status (self, 5000);
    int64_t value = -1;
    if (reply && reply->status) {
        value = 0;
        for (size_t i = 0; i < reply->status->n_counters; i++)
            if (strcmp (reply->status->counters[i]->name, name) == 0)
                value = reply->status->counters[i]->value;
    }
    if (reply)
        kefu__v1__control_reply__free_unpacked (reply, NULL);
    return value;
}

int
bench_service_stop (bench_service_t **self_p, double grace_s, double *took_s)
{
    if (took_s)
        *took_s = 0;
    if (!self_p || !*self_p)
        return 0;
    bench_service_t *self = *self_p;
    int64_t start = bench_now_us ();
    int code = 0;
    if (self->actor)
        kf_daemon_drain_actor (&self->actor);
    if (self->pid > 0) {
        bool killed = false;
        code = kt_process_stop (self->pid, SIGTERM, (int) (grace_s * 1000), &killed);
        if (killed)
            fprintf (stderr, "bench: %s did not exit within %.0f s of SIGTERM: killed\n",
                     self->name, grace_s);
    }
    if (took_s)
        *took_s = (double) (bench_now_us () - start) / 1e6;
    free (self);
    *self_p = NULL;
    return code;
}

int
bench_tool_run (const char *const *argv, const char *const *env, char *out, size_t out_size,
                double *took_s)
{
    int64_t start = bench_now_us ();
    if (took_s)
        *took_s = 0;
    if (out && out_size)
        out[0] = '\0';
    int fds[2];
    char **envp = s_environment (env, false);
    if (!envp || pipe2 (fds, O_CLOEXEC)) {
        free (envp);
        return -1;
    }
    pid_t pid = kt_process_spawn (argv, envp, fds[1], -1, SIGTERM);
    free (envp);
    close (fds[1]);
    if (pid < 0) {
        close (fds[0]);
        return -1;
    }
    size_t have = 0;
    char chunk[4096];
    ssize_t n;
    while ((n = read (fds[0], chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        size_t take = out && have + 1 < out_size ? out_size - 1 - have : 0;
        if (take > (size_t) n)
            take = (size_t) n;
        if (take) {
            memcpy (out + have, chunk, take);
            have += take;
            out[have] = '\0';
        }
    }
    close (fds[0]);
    int status = 0;
    while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (took_s)
        *took_s = (double) (bench_now_us () - start) / 1e6;
    int code = kt_process_exit_code (status);
    return code == 127 ? -1 : code;
}
