/* relay.h - placeholder, being written */
#ifndef MIX_RELAY_H
#define MIX_RELAY_H
#endif
