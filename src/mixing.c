/* mixing.c - placeholder, being written */
#include <config.h>
#include "mixing.h"
typedef int mix_mixing_placeholder;
