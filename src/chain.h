/* chain.h - placeholder, being written */
#ifndef MIX_CHAIN_H
#define MIX_CHAIN_H
#endif
