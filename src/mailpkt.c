/* mailpkt.c - placeholder until the mail extraction module lands. */
#include <config.h>
#include "mailpkt.h"
void mailpkt_init(void) {}
enum mailpkt_err mailpkt_extract(const uint8_t *mail, size_t len, uint8_t pkt[PKT_SIZE]) { (void)mail; (void)len; (void)pkt; return MAILPKT_ERR_NONE; }
const char *mailpkt_strerror(enum mailpkt_err err) { (void)err; return "?"; }
