/* The pod sandbox process of the local cluster's real node (containerd's sandbox image): it holds
 * the pod's namespaces, reaps the zombies it inherits as PID 1, and exits on SIGINT or SIGTERM.
 * Built static by hack/images/base-images.sh, so the image needs no libc. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, 0, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction quit = {.sa_handler = stop};
  struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
  sigaction(SIGINT, &quit, 0);
  sigaction(SIGTERM, &quit, 0);
  sigaction(SIGCHLD, &child, 0);
  for (;;) pause();
}
