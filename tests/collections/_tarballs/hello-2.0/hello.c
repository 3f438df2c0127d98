#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello, %s, from hello 2.0\n", argc > 1 ? argv[1] : "world");
    return 0;
}
