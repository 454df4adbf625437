/* keys.c - placeholder until implemented */
#include <config.h>
#include "keys.h"
