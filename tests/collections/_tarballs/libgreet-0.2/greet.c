#include <stdio.h>
#include "greet.h"

const char *greet_message(const char *whom)
{
    static char buffer[128];
    snprintf(buffer, sizeof buffer, "Greetings, %s!", whom);
    return buffer;
}
