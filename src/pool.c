/* pool.c - placeholder until implemented */
#include <config.h>
#include "pool.h"
