/* nodedb.c - placeholder, being written */
#include <config.h>
#include "nodedb.h"
typedef int mix_nodedb_placeholder;
