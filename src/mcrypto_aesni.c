/*
 * mcrypto_aesni.c - AES-256 on a single block with the x86-64 AES
 * instructions (AES-NI).
 *
 * Why this exists: libsodium has no AES block function, and OpenSSL, which
 * has, costs about 1.6 ms to load and initialise (its first algorithm
 * fetch builds a table of every cipher it has). The MTA hook runs once per
 * mail and needs one AES block per packet; this file is what lets it run
 * without OpenSSL. The instructions do the rounds in hardware, in constant
 * time; what is written here is the FIPS-197 key expansion expressed with
 * AESKEYGENASSIST and the round sequence, and nothing else. It is checked
 * against the FIPS-197 vectors and against OpenSSL on random keys and
 * blocks in both directions (tests/check_sprp.c).
 *
 * Without AES-NI (another CPU, or a compiler without the intrinsics) the
 * caller uses OpenSSL instead (src/mcrypto.c).
 *
 * The round keys live on the stack and are cleared before returning.
 */
#include <config.h>

#include <string.h>

#include "mcrypto_impl.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <emmintrin.h>
#include <wmmintrin.h>

#define AESNI __attribute__((target("aes,sse2")))

int
mcrypto_aesni_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse2");
}

/* expand - k ^ (k << 32) ^ (k << 64) ^ (k << 96) ^ t: one key-schedule step */
AESNI static __m128i
expand(__m128i k, __m128i t)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, t);
}

/*
 * AES-256 expansion, FIPS-197 section 5.2 with Nk = 8: even round keys take
 * RotWord(SubWord(w)) ^ Rcon of the previous key's last word (shuffle 0xff
 * of AESKEYGENASSIST), odd ones SubWord(w) without rotation (shuffle 0xaa).
 */
#define EVEN(i, rcon) rk[i] = expand(rk[(i) - 2], \
	_mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], rcon), 0xff))
#define ODD(i) rk[i] = expand(rk[(i) - 2], \
	_mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[(i) - 1], 0x00), 0xaa))

AESNI void
mcrypto_aesni_block(uint8_t out[16], const uint8_t in[16], const uint8_t key[32],
    int encrypt)
{
	__m128i rk[15], x;
	int i;

	rk[0] = _mm_loadu_si128((const __m128i *)(const void *)key);
	rk[1] = _mm_loadu_si128((const __m128i *)(const void *)(key + 16));
	EVEN(2, 0x01); ODD(3);
	EVEN(4, 0x02); ODD(5);
	EVEN(6, 0x04); ODD(7);
	EVEN(8, 0x08); ODD(9);
	EVEN(10, 0x10); ODD(11);
	EVEN(12, 0x20); ODD(13);
	EVEN(14, 0x40);
	x = _mm_loadu_si128((const __m128i *)(const void *)in);
	if (encrypt) {
		x = _mm_xor_si128(x, rk[0]);
		for (i = 1; i < 14; i++)
			x = _mm_aesenc_si128(x, rk[i]);
		x = _mm_aesenclast_si128(x, rk[14]);
	} else {
		/* the equivalent inverse cipher: InvMixColumns on middle keys */
		x = _mm_xor_si128(x, rk[14]);
		for (i = 13; i > 0; i--)
			x = _mm_aesdec_si128(x, _mm_aesimc_si128(rk[i]));
		x = _mm_aesdeclast_si128(x, rk[0]);
	}
	_mm_storeu_si128((__m128i *)(void *)out, x);
	for (i = 0; i < 15; i++)
		rk[i] = _mm_setzero_si128();
	x = _mm_setzero_si128();
	/* keep the clearing: the compiler must assume rk is read */
	__asm__ __volatile__("" : : "r"(rk), "x"(x) : "memory");
}

#else	/* no AES-NI in this build */

int
mcrypto_aesni_available(void)
{
	return 0;
}

void
mcrypto_aesni_block(uint8_t out[16], const uint8_t in[16], const uint8_t key[32],
    int encrypt)
{
	(void)in;
	(void)key;
	(void)encrypt;
	memset(out, 0, 16);
	__builtin_trap();	/* the caller checked mcrypto_aesni_available() */
}

#endif
