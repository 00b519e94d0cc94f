// An LD_PRELOAD shim that turns Nagle's algorithm off on every TCP socket the process
// accepts or connects, the way a real Kafka broker sets TCP_NODELAY. librdkafka's mock
// broker (the embedded broker) keeps Nagle on, so a response queued behind another waits
// for the client's delayed ACK (~40 ms per producer flush, FIELD-NOTES): with this shim,
// `streams-bench latency` measures the joins without that stall.
// Build: cc -shared -fPIC -O2 -o nodelay.so scripts/nodelay-preload.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void no_delay(int fd) {
    if (fd < 0) return;
    int on = 1;
    // Fails harmlessly on sockets that are not TCP (Unix sockets, UDP).
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int accept(int fd, struct sockaddr *address, socklen_t *length) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = dlsym(RTLD_NEXT, "accept");
    int accepted = real(fd, address, length);
    no_delay(accepted);
    return accepted;
}

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = dlsym(RTLD_NEXT, "accept4");
    int accepted = real(fd, address, length, flags);
    no_delay(accepted);
    return accepted;
}

int connect(int fd, const struct sockaddr *address, socklen_t length) {
    static int (*real)(int, const struct sockaddr *, socklen_t);
    if (!real) real = dlsym(RTLD_NEXT, "connect");
    no_delay(fd);
    return real(fd, address, length);
}
