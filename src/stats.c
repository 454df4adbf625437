/* stats.c - placeholder until implemented */
#include <config.h>
#include "stats.h"
