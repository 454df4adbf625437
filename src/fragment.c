/* fragment.c - placeholder, being written */
#include <config.h>
#include "fragment.h"
typedef int mix_fragment_placeholder;
