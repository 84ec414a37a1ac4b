/*
** output.h: where the simulator's CSV lines go: a file, standard output,
** or a TCP connection that is opened when the receiver is up and reopened
** (with backoff) when it goes away, so that the simulator can be started
** before the pipeline that listens for it.
*/
#ifndef SLUICE_SIM_OUTPUT_H
#define SLUICE_SIM_OUTPUT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct SimOutput {
    FILE *file;                    /* file mode; NULL in TCP mode */
    bool own_file;                 /* not stdout: closed at the end */
    int fd;                        /* TCP mode: the connection, -1 if none */
    char host[256], port[16];
    const char *header;            /* written first in each stream, or NULL */
    char *buf;                     /* TCP mode: lines not yet sent */
    size_t len, cap;
    const volatile sig_atomic_t *stop;   /* set by a signal: give up waiting */
} SimOutput;

/* Splits "HOST:PORT" or "[IPV6]:PORT"; false if it has another form. */
bool sim_split_address(const char *address, char host[256], char port[16]);

/* Opens a file ("-": standard output). Prints the problem and returns false
** on failure. */
bool sim_output_file(SimOutput *o, const char *path, const char *header);

/* Prepares TCP mode for "HOST:PORT" or "[IPV6]:PORT"; connects lazily.
** Returns false (after a message) if the address is malformed. */
bool sim_output_tcp(SimOutput *o, const char *address, const char *header,
                    const volatile sig_atomic_t *stop);

/* Queues one line (with its newline). False on a failure that ends the
** run: a write error, no receiver for too long, or *stop set while waiting
** for one; the message is printed except for a stop. */
bool sim_output_line(SimOutput *o, const char *line, size_t len);

/* Sends or flushes what is queued (before the simulator sleeps, and at the
** end); false as for sim_output_line. */
bool sim_output_flush(SimOutput *o);

/* Flushes and closes; false if the final flush or close failed. */
bool sim_output_close(SimOutput *o);

#endif
