/*  kt_process — a kefu program as a child process (tests and bench). */
#include "kt_process.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *
kt_process_bin (char *out, size_t size, const char *path)
{
    const char *dir = getenv ("KEFU_TEST_BIN_DIR");
    char self[1024] = "";
    if (!dir || !*dir) {
        //  <build>/bench/<program>: the build tree is two levels up.
        ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = '\0';
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr (self, '/');
            if (slash)
                *slash = '\0';
        }
        dir = self;
    }
    snprintf (out, size, "%s/%s", dir, path);
    return out;
}

pid_t
kt_process_spawn (const char *const *argv, char *const *envp, int out_fd, int err_fd,
                  int death_signal)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    prctl (PR_SET_PDEATHSIG, death_signal);
    if (getppid () != parent)
        _exit (127); //  the parent died before prctl
    sigset_t none;
    sigemptyset (&none);
    sigprocmask (SIG_SETMASK, &none, NULL);
    if (out_fd >= 0)
        dup2 (out_fd, STDOUT_FILENO);
    if (err_fd >= 0)
        dup2 (err_fd, STDERR_FILENO);
    execve (argv[0], (char *const *) argv, envp ? envp : environ);
    _exit (127);
}

int
kt_process_exit_code (int status)
{
    if (WIFEXITED (status))
        return WEXITSTATUS (status);
    if (WIFSIGNALED (status))
        return 128 + WTERMSIG (status);
    return -1;
}

int
kt_process_stop (pid_t pid, int sig, int grace_ms, bool *killed)
{
    if (killed)
        *killed = false;
    if (pid <= 0)
        return -1;
    kill (pid, sig);
    int status = 0;
    struct timespec tick = {0, 10 * 1000 * 1000};
    for (int waited = 0;; waited += 10) {
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            return kt_process_exit_code (status);
        if (done < 0 && errno != EINTR)
            return -1;
        if (waited >= grace_ms)
            break;
        nanosleep (&tick, NULL);
    }
    if (killed)
        *killed = true;
    kill (pid, SIGKILL);
    while (waitpid (pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return kt_process_exit_code (status);
}
