/* fragment.h - placeholder, being written */
#ifndef MIX_FRAGMENT_H
#define MIX_FRAGMENT_H
#endif
