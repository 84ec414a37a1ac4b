/* status.c: ends with the status in argv[2], through exit() when argv[1] is
   "exit", with abort() (a trap) when it is "abort", and by returning from
   main otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) return 100;
    int status = atoi(argv[2]);
    printf("ending with %d\n", status);
    fflush(stdout);
    if (!strcmp(argv[1], "exit")) exit(status);
    if (!strcmp(argv[1], "abort")) abort();
    return status;
}
