/* stdin.c: copies standard input to standard output, upper-cased, then
   reports how many bytes and lines it read on standard error. */
#include <ctype.h>
#include <stdio.h>

int main(void)
{
    long bytes = 0, lines = 0;
    int c;
    while ((c = getchar()) != EOF) {
        bytes++;
        lines += c == '\n';
        putchar(toupper(c));
    }
    fprintf(stderr, "%ld bytes, %ld lines\n", bytes, lines);
    return 0;
}
