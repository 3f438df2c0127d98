#include <stdio.h>

int main(void)
{
    FILE *release = fopen("/etc/os-release", "r");
    puts(release ? "os-release found" : "no os-release");
    if (release)
        fclose(release);
    return 0;
}
