/* mixing.h - placeholder, being written */
#ifndef MIX_MIXING_H
#define MIX_MIXING_H
#endif
