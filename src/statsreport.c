/* statsreport.c - placeholder (helper writes it) */
#include "statsreport.h"
typedef int statsreport_placeholder;
