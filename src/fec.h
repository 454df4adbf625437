/* fec.h - placeholder, being written */
#ifndef MIX_FEC_H
#define MIX_FEC_H
#endif
