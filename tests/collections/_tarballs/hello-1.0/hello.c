#include <stdio.h>

int main(void)
{
    puts("Hello from tiny 1.0");
    return 0;
}
