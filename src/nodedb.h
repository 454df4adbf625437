/* nodedb.h - placeholder, being written */
#ifndef MIX_NODEDB_H
#define MIX_NODEDB_H
#endif
