/* relay.c - placeholder, being written */
#include <config.h>
#include "relay.h"
typedef int mix_relay_placeholder;
