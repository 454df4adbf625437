/* chain.c - placeholder, being written */
#include <config.h>
#include "chain.h"
typedef int mix_chain_placeholder;
