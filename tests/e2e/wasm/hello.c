/* hello.c: the smallest WASI command: printf to standard output. */
#include <stdio.h>

int main(void)
{
    printf("Hello, world!\n");
    return 0;
}
