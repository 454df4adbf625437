/* armor.c - placeholder until the armor module lands (see armor.h). */
#include <config.h>
#include "armor.h"
size_t armor_encode(char *out, size_t out_size, const uint8_t pkt[PKT_SIZE]) { (void)out; (void)out_size; (void)pkt; return 0; }
enum armor_err armor_decode(const char *text, size_t len, uint8_t pkt[PKT_SIZE], size_t *end) { (void)text; (void)len; (void)pkt; (void)end; return ARMOR_ERR_NONE; }
const char *armor_strerror(enum armor_err err) { (void)err; return "?"; }
