/* statsreport.h - placeholder (helper writes it) */
#ifndef MIX_STATSREPORT_H
#define MIX_STATSREPORT_H
#endif
