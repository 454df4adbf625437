/* fec.c - placeholder, being written */
#include <config.h>
#include "fec.h"
typedef int mix_fec_placeholder;
