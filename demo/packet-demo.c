/*
 * packet-demo - show the packet format at work, without any network.
 *
 * Usage: demo/packet-demo [MESSAGE-FILE]
 *
 * Three nodes get fresh mix keys. A message (the file, or a built-in
 * sample) is wrapped for the path node 1 -> node 2 -> node 3, armored as it
 * would travel in a mail body, and then each node peels its layer in turn
 * and prints what it learned: the next hop and a delay, nothing more. The
 * exit prints the message. Finally a copy with one flipped bit is shown to
 * die at the exit instead of delivering an altered message.
 */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "armor.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"
#include "pkt.h"

#define NHOPS 3

static const char *sample =
    "To: editor@newsroom.example\n"
    "Subject: Documents about the water contract\n"
    "\n"
    "The attached figures show that the 2025 tender was rigged.\n";

static const char *addrs[NHOPS] = {
	"mix@alpha.example", "mix@bravo.example", "mix@charlie.example"
};

static char *
read_message(const char *path, size_t *len)
{
	FILE *fp;
	char *buf = mem_alloc(PKT_BODY_MAX + 1);
	size_t n;

	if (path == NULL) {
		*len = strlen(sample);
		memcpy(buf, sample, *len + 1);
		return buf;
	}
	if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "packet-demo: cannot open %s\n", path);
		exit(1);
	}
	n = fread(buf, 1, PKT_BODY_MAX + 1, fp);
	fclose(fp);
	if (n > PKT_BODY_MAX) {
		fprintf(stderr, "packet-demo: message longer than one packet (%d bytes)\n",
		    PKT_BODY_MAX);
		exit(1);
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void
rule(void)
{
	printf("------------------------------------------------------------------------\n");
}

int
main(int argc, char **argv)
{
	struct pkt_key *keys;
	struct pkt_hop hops[NHOPS];
	struct pkt_result res;
	uint8_t *pkt = mem_alloc(PKT_SIZE), *out = mem_alloc(PKT_SIZE + 1), *copy;
	char *armor = mem_alloc(ARMOR_SIZE), *msg, tag[17];
	size_t len, alen, i, j, lines;
	enum pkt_err err;
	enum armor_err aerr;

	msg_set_progname(argv[0]);
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: packet-demo [MESSAGE-FILE]\n");
		return 64;
	}
	if (mcrypto_init() != 0)
		msg_fatal("cannot initialise the crypto libraries");
	msg = read_message(argc == 2 ? argv[1] : NULL, &len);

	printf("mixmail packet demo: one message, three hops, one layer each.\n\n");
	keys = mcrypto_secret_alloc(NHOPS * sizeof *keys);
	for (i = 0; i < NHOPS; i++) {
		mcrypto_random(NULL, keys[i].sk, 32);
		mcrypto_x25519_base(keys[i].pk, keys[i].sk);
		memcpy(hops[i].pk, keys[i].pk, 32);
		hops[i].addr = addrs[i];
		hops[i].delay = (uint32_t)(60 * (i + 2));
		mcrypto_hex(tag, keys[i].pk, 8);
		printf("node %zu  %-22s mix key %s...\n", i + 1, addrs[i], tag);
	}

	err = pkt_build(pkt, hops, NHOPS, PKT_CMD_DELIVER, (const uint8_t *)msg, len, NULL);
	if (err != PKT_OK)
		msg_fatal("pkt_build: %s", pkt_strerror(err));
	alen = armor_encode(armor, ARMOR_SIZE, pkt);
	for (i = 0, lines = 0; i < alen; i++)
		lines += armor[i] == '\n';
	printf("\nThe sender wraps %zu bytes of message into one %d-byte packet and mails\n"
	    "it to node 1. The mail body is %zu bytes of armor (%zu lines):\n\n",
	    len, PKT_SIZE, alen, lines);
	for (i = 0, j = 0; i < alen && j < 4; i++) {
		putchar(armor[i]);
		j += armor[i] == '\n';
	}
	printf("    ... %zu more lines of base64 ...\n%s\n\n", lines - 5, ARMOR_END);

	for (i = 0; i < NHOPS; i++) {
		rule();
		/* each hop gets the packet as mail text, exactly as sent */
		aerr = armor_decode(armor, alen, pkt, NULL);
		if (aerr != ARMOR_OK)
			msg_fatal("armor_decode: %s", armor_strerror(aerr));
		err = pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, &res, out);
		if (err != PKT_OK)
			msg_fatal("hop %zu: %s", i + 1, pkt_strerror(err));
		mcrypto_hex(tag, res.replay_tag, 8);
		printf("node %zu (%s) peels one layer and learns:\n", i + 1, addrs[i]);
		printf("  command:     %s\n", pkt_cmd_name(res.cmd));
		printf("  hold for:    %u seconds (continuous mixing delay)\n", (unsigned)res.delay);
		printf("  replay tag:  %s... (remembered so a copy is dropped)\n", tag);
		if (res.cmd == PKT_CMD_FORWARD) {
			printf("  next hop:    %s\n", res.next_addr);
			printf("  It sees who handed it the packet, nothing of the message, how\n"
			    "  many hops remain or where the message goes. It mails on a packet\n"
			    "  of the same %d bytes that shares no byte pattern with the one\n"
			    "  it got.\n", PKT_SIZE);
			alen = armor_encode(armor, ARMOR_SIZE, out);
		} else {
			printf("  it is the exit; the zero tag checks out, so the message is\n"
			    "  exactly what the sender wrote. It delivers:\n\n");
			rule();
			fwrite(out, 1, res.out_len, stdout);
			if (res.out_len > 0 && out[res.out_len - 1] != '\n')
				putchar('\n');
			rule();
		}
	}

	/* Tagging: flip one bit in the payload on the way to node 2. */
	printf("\nTagging attack: rewrap, flip one payload bit between node 1 and node 2.\n");
	if (pkt_build(pkt, hops, NHOPS, PKT_CMD_DELIVER, (const uint8_t *)msg, len, NULL) != PKT_OK)
		msg_fatal("pkt_build failed");
	copy = mem_alloc(PKT_SIZE);
	err = PKT_OK;
	for (i = 0; i < NHOPS; i++) {
		if (i == 1)
			pkt[PKT_OFF_PAYLOAD + 1000] ^= 0x04;
		err = pkt_unwrap(pkt, PKT_SIZE, &keys[i], 1, &res, out);
		if (err != PKT_OK)
			break;
		if (res.cmd == PKT_CMD_FORWARD) {
			memcpy(copy, out, PKT_SIZE);
			memcpy(pkt, copy, PKT_SIZE);
		}
	}
	if (err == PKT_OK)
		msg_panic("an altered packet was delivered");
	printf("node %zu drops it: %s. Nothing altered is ever delivered.\n", i + 1,
	    pkt_strerror(err));

	mcrypto_secret_free(keys);
	mem_free(copy);
	mem_free(pkt);
	mem_free(out);
	mem_free(armor);
	mem_free(msg);
	return 0;
}
