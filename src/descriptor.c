/* descriptor.c - placeholder until implemented */
#include <config.h>
#include "descriptor.h"
