/*
 * fec.c - a systematic Reed-Solomon style erasure code over GF(2^8)
 * (fec.h; doc/body-format.md section 5 is the derivation).
 *
 * The field is GF(2)[x] / (x^8 + x^4 + x^3 + x^2 + 1), bytes read as
 * polynomials with bit i the coefficient of x^i; addition is XOR. The
 * element x (0x02) generates the multiplicative group, so every nonzero a
 * is x^log(a); the two tables below hold x^i for i < 255 and its inverse
 * function. They were computed by repeated doubling (shift left, XOR 0x11d
 * on carry); tests/check_fragment.c checks every product and inverse
 * against a bitwise multiplication.
 *
 * The code word of data shards d_0..d_{k-1} is c_0..c_{n-1} with
 *
 *   c_i = d_i                                    (i < k)
 *   c_i = sum over j < k of d_j / (i XOR j)      (k <= i < n)
 *
 * The parity rows are the Cauchy matrix 1 / (x_i + y_j) for x_i = i in
 * {k..n-1} and y_j = j in {0..k-1}: two disjoint sets of distinct field
 * elements, so every square submatrix is invertible, and so is every
 * choice of k rows of [I; C]. Decoding therefore needs only the e x e
 * submatrix that links the e missing data shards to e parity shards.
 *
 * Functions: fec_gf_mul(), fec_gf_inv(), fec_shard(), fec_encode(),
 * fec_decode(), fec_strerror().
 *
 * Diagnostics: msg_panic() if a decoding matrix is singular (a bug: the
 * construction makes that impossible). Nothing else is logged.
 */
#include <config.h>

#include <string.h>

#include "fec.h"
#include "log.h"
#include "mcrypto.h"
#include "mem.h"

/* gf_exp[i] = x^i */
static const uint8_t gf_exp[255] = {
	0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1d, 0x3a, 0x74, 0xe8, 0xcd, 0x87, 0x13, 0x26,
	0x4c, 0x98, 0x2d, 0x5a, 0xb4, 0x75, 0xea, 0xc9, 0x8f, 0x03, 0x06, 0x0c, 0x18, 0x30, 0x60, 0xc0,
	0x9d, 0x27, 0x4e, 0x9c, 0x25, 0x4a, 0x94, 0x35, 0x6a, 0xd4, 0xb5, 0x77, 0xee, 0xc1, 0x9f, 0x23,
	0x46, 0x8c, 0x05, 0x0a, 0x14, 0x28, 0x50, 0xa0, 0x5d, 0xba, 0x69, 0xd2, 0xb9, 0x6f, 0xde, 0xa1,
	0x5f, 0xbe, 0x61, 0xc2, 0x99, 0x2f, 0x5e, 0xbc, 0x65, 0xca, 0x89, 0x0f, 0x1e, 0x3c, 0x78, 0xf0,
	0xfd, 0xe7, 0xd3, 0xbb, 0x6b, 0xd6, 0xb1, 0x7f, 0xfe, 0xe1, 0xdf, 0xa3, 0x5b, 0xb6, 0x71, 0xe2,
	0xd9, 0xaf, 0x43, 0x86, 0x11, 0x22, 0x44, 0x88, 0x0d, 0x1a, 0x34, 0x68, 0xd0, 0xbd, 0x67, 0xce,
	0x81, 0x1f, 0x3e, 0x7c, 0xf8, 0xed, 0xc7, 0x93, 0x3b, 0x76, 0xec, 0xc5, 0x97, 0x33, 0x66, 0xcc,
	0x85, 0x17, 0x2e, 0x5c, 0xb8, 0x6d, 0xda, 0xa9, 0x4f, 0x9e, 0x21, 0x42, 0x84, 0x15, 0x2a, 0x54,
	0xa8, 0x4d, 0x9a, 0x29, 0x52, 0xa4, 0x55, 0xaa, 0x49, 0x92, 0x39, 0x72, 0xe4, 0xd5, 0xb7, 0x73,
	0xe6, 0xd1, 0xbf, 0x63, 0xc6, 0x91, 0x3f, 0x7e, 0xfc, 0xe5, 0xd7, 0xb3, 0x7b, 0xf6, 0xf1, 0xff,
	0xe3, 0xdb, 0xab, 0x4b, 0x96, 0x31, 0x62, 0xc4, 0x95, 0x37, 0x6e, 0xdc, 0xa5, 0x57, 0xae, 0x41,
	0x82, 0x19, 0x32, 0x64, 0xc8, 0x8d, 0x07, 0x0e, 0x1c, 0x38, 0x70, 0xe0, 0xdd, 0xa7, 0x53, 0xa6,
	0x51, 0xa2, 0x59, 0xb2, 0x79, 0xf2, 0xf9, 0xef, 0xc3, 0x9b, 0x2b, 0x56, 0xac, 0x45, 0x8a, 0x09,
	0x12, 0x24, 0x48, 0x90, 0x3d, 0x7a, 0xf4, 0xf5, 0xf7, 0xf3, 0xfb, 0xeb, 0xcb, 0x8b, 0x0b, 0x16,
	0x2c, 0x58, 0xb0, 0x7d, 0xfa, 0xe9, 0xcf, 0x83, 0x1b, 0x36, 0x6c, 0xd8, 0xad, 0x47, 0x8e,
};

/* gf_log[a] = i with x^i = a, for a != 0 (gf_log[0] is unused) */
static const uint8_t gf_log[256] = {
	0x00, 0x00, 0x01, 0x19, 0x02, 0x32, 0x1a, 0xc6, 0x03, 0xdf, 0x33, 0xee, 0x1b, 0x68, 0xc7, 0x4b,
	0x04, 0x64, 0xe0, 0x0e, 0x34, 0x8d, 0xef, 0x81, 0x1c, 0xc1, 0x69, 0xf8, 0xc8, 0x08, 0x4c, 0x71,
	0x05, 0x8a, 0x65, 0x2f, 0xe1, 0x24, 0x0f, 0x21, 0x35, 0x93, 0x8e, 0xda, 0xf0, 0x12, 0x82, 0x45,
	0x1d, 0xb5, 0xc2, 0x7d, 0x6a, 0x27, 0xf9, 0xb9, 0xc9, 0x9a, 0x09, 0x78, 0x4d, 0xe4, 0x72, 0xa6,
	0x06, 0xbf, 0x8b, 0x62, 0x66, 0xdd, 0x30, 0xfd, 0xe2, 0x98, 0x25, 0xb3, 0x10, 0x91, 0x22, 0x88,
	0x36, 0xd0, 0x94, 0xce, 0x8f, 0x96, 0xdb, 0xbd, 0xf1, 0xd2, 0x13, 0x5c, 0x83, 0x38, 0x46, 0x40,
	0x1e, 0x42, 0xb6, 0xa3, 0xc3, 0x48, 0x7e, 0x6e, 0x6b, 0x3a, 0x28, 0x54, 0xfa, 0x85, 0xba, 0x3d,
	0xca, 0x5e, 0x9b, 0x9f, 0x0a, 0x15, 0x79, 0x2b, 0x4e, 0xd4, 0xe5, 0xac, 0x73, 0xf3, 0xa7, 0x57,
	0x07, 0x70, 0xc0, 0xf7, 0x8c, 0x80, 0x63, 0x0d, 0x67, 0x4a, 0xde, 0xed, 0x31, 0xc5, 0xfe, 0x18,
	0xe3, 0xa5, 0x99, 0x77, 0x26, 0xb8, 0xb4, 0x7c, 0x11, 0x44, 0x92, 0xd9, 0x23, 0x20, 0x89, 0x2e,
	0x37, 0x3f, 0xd1, 0x5b, 0x95, 0xbc, 0xcf, 0xcd, 0x90, 0x87, 0x97, 0xb2, 0xdc, 0xfc, 0xbe, 0x61,
	0xf2, 0x56, 0xd3, 0xab, 0x14, 0x2a, 0x5d, 0x9e, 0x84, 0x3c, 0x39, 0x53, 0x47, 0x6d, 0x41, 0xa2,
	0x1f, 0x2d, 0x43, 0xd8, 0xb7, 0x7b, 0xa4, 0x76, 0xc4, 0x17, 0x49, 0xec, 0x7f, 0x0c, 0x6f, 0xf6,
	0x6c, 0xa1, 0x3b, 0x52, 0x29, 0x9d, 0x55, 0xaa, 0xfb, 0x60, 0x86, 0xb1, 0xbb, 0xcc, 0x3e, 0x5a,
	0xcb, 0x59, 0x5f, 0xb0, 0x9c, 0xa9, 0xa0, 0x51, 0x0b, 0xf5, 0x16, 0xeb, 0x7a, 0x75, 0x2c, 0xd7,
	0x4f, 0xae, 0xd5, 0xe9, 0xe6, 0xe7, 0xad, 0xe8, 0x74, 0xd6, 0xf4, 0xea, 0xa8, 0x50, 0x58, 0xaf,
};

/* ---- field arithmetic ------------------------------------------------------ */

uint8_t
fec_gf_mul(uint8_t a, uint8_t b)
{
	unsigned s;

	if (a == 0 || b == 0)
		return 0;
	s = (unsigned)gf_log[a] + gf_log[b];
	if (s >= 255)
		s -= 255;
	return gf_exp[s];
}

uint8_t
fec_gf_inv(uint8_t a)
{
	if (a == 0)
		return 0;
	return gf_exp[(255 - gf_log[a]) % 255];
}

/*
 * mul_add - dst ^= c * src, over len bytes, through a 256-entry row of
 * products. Eight bytes a turn: a quarter faster here, and a fuzzing
 * build, which traces loop compares and checks pointer arithmetic, spends
 * less on the loop than on the arithmetic.
 */
static void
mul_add(uint8_t *dst, const uint8_t *src, uint8_t c, size_t len)
{
	uint8_t row[256];
	size_t i;
	unsigned x;

	if (c == 0)
		return;
	row[0] = 0;
	for (x = 1; x < 256; x++)
		row[x] = fec_gf_mul(c, (uint8_t)x);
	for (i = len / 8; i > 0; i--, dst += 8, src += 8) {
		dst[0] ^= row[src[0]];
		dst[1] ^= row[src[1]];
		dst[2] ^= row[src[2]];
		dst[3] ^= row[src[3]];
		dst[4] ^= row[src[4]];
		dst[5] ^= row[src[5]];
		dst[6] ^= row[src[6]];
		dst[7] ^= row[src[7]];
	}
	for (i = 0; i < len % 8; i++)
		dst[i] ^= row[src[i]];
}

/* coef - the generator entry of parity shard row (>= k) for data column col (< k) */
static uint8_t
coef(unsigned row, unsigned col)
{
	return fec_gf_inv((uint8_t)(row ^ col));
}

/* ---- encoding -------------------------------------------------------------- */

static int
dims_valid(unsigned k, unsigned n)
{
	return k >= 1 && k <= n && n <= FEC_N_MAX;
}

/* data_valid - data[0..k) present (the pointers may be NULL only when len is 0) */
static int
data_valid(unsigned k, const uint8_t *const *data, size_t len)
{
	unsigned j;

	if (data == NULL)
		return 0;
	for (j = 0; j < k; j++)
		if (data[j] == NULL && len > 0)
			return 0;
	return 1;
}

enum fec_err
fec_shard(unsigned k, unsigned n, unsigned index, const uint8_t *const *data, uint8_t *out,
    size_t len)
{
	unsigned j;

	if (!dims_valid(k, n) || index >= n || !data_valid(k, data, len) ||
	    (out == NULL && len > 0))
		return FEC_ERR_ARG;
	if (len == 0)
		return FEC_OK;
	if (index < k) {
		memmove(out, data[index], len);
		return FEC_OK;
	}
	memset(out, 0, len);
	for (j = 0; j < k; j++)
		mul_add(out, data[j], coef(index, j), len);
	return FEC_OK;
}

enum fec_err
fec_encode(unsigned k, unsigned n, const uint8_t *const *data, uint8_t *const *parity,
    size_t len)
{
	enum fec_err err;
	unsigned i;

	if (!dims_valid(k, n) || !data_valid(k, data, len) || (parity == NULL && n > k))
		return FEC_ERR_ARG;
	for (i = k; i < n; i++)
		if (parity[i - k] == NULL && len > 0)
			return FEC_ERR_ARG;
	for (i = k; i < n; i++)
		if ((err = fec_shard(k, n, i, data, parity[i - k], len)) != FEC_OK)
			return err;
	return FEC_OK;
}

/* ---- decoding -------------------------------------------------------------- */

/*
 * invert - replace the e x e matrix a (row-major) by its inverse, by
 * Gauss-Jordan elimination beside the identity in b; b receives the
 * inverse. Panics if a is singular.
 */
static void
invert(uint8_t *a, uint8_t *b, unsigned e)
{
	unsigned col, r, c;
	uint8_t f, t;

	memset(b, 0, (size_t)e * e);
	for (r = 0; r < e; r++)
		b[r * e + r] = 1;
	for (col = 0; col < e; col++) {
		for (r = col; r < e && a[r * e + col] == 0; r++)
			;
		if (r == e)
			msg_panic("fec_decode: singular matrix");
		if (r != col) {
			for (c = 0; c < e; c++) {
				t = a[r * e + c], a[r * e + c] = a[col * e + c], a[col * e + c] = t;
				t = b[r * e + c], b[r * e + c] = b[col * e + c], b[col * e + c] = t;
			}
		}
		f = fec_gf_inv(a[col * e + col]);
		for (c = 0; c < e; c++) {
			a[col * e + c] = fec_gf_mul(a[col * e + c], f);
			b[col * e + c] = fec_gf_mul(b[col * e + c], f);
		}
		for (r = 0; r < e; r++) {
			if (r == col || (f = a[r * e + col]) == 0)
				continue;
			for (c = 0; c < e; c++) {
				a[r * e + c] ^= fec_gf_mul(f, a[col * e + c]);
				b[r * e + c] ^= fec_gf_mul(f, b[col * e + c]);
			}
		}
	}
}

/*
 * fec_decode - with D the data shards present, M the e missing ones and P
 * e parity shards: for p in P, c_p + sum over j in D of G[p][j] d_j equals
 * sum over m in M of G[p][m] d_m. The e x e matrix G[P][M] is a square
 * Cauchy matrix, hence invertible; its inverse applied to those e
 * residuals gives the missing d_m.
 */
enum fec_err
fec_decode(unsigned k, unsigned n, const uint8_t *const *shards, const unsigned *index,
    size_t count, uint8_t *const *data, size_t len)
{
	uint8_t seen[FEC_N_MAX] = { 0 };
	size_t pos[FEC_N_MAX];		/* shard number -> its position in shards[] */
	unsigned miss[FEC_N_MAX];	/* the missing data shards */
	unsigned par[FEC_N_MAX];	/* the parity shards that stand in for them */
	uint8_t *mat, *inv, *res;
	unsigned e, np, j, t, u;
	size_t i;

	if (!dims_valid(k, n) || (count > 0 && (shards == NULL || index == NULL)) ||
	    data == NULL)
		return FEC_ERR_ARG;
	for (j = 0; j < k; j++)
		if (data[j] == NULL && len > 0)
			return FEC_ERR_ARG;
	for (i = 0; i < count; i++) {
		if (index[i] >= n || (shards[i] == NULL && len > 0))
			return FEC_ERR_ARG;
		if (seen[index[i]])
			return FEC_ERR_DUPLICATE;
		seen[index[i]] = 1;
		pos[index[i]] = i;
	}
	if (count < k)
		return FEC_ERR_TOO_FEW;

	for (e = 0, j = 0; j < k; j++)
		if (!seen[j])
			miss[e++] = j;
	for (np = 0, i = 0; i < count && np < e; i++)
		if (index[i] >= k)
			par[np++] = index[i];
	/* count >= k distinct shards: at least e of them are parity */
	if (np != e)
		msg_panic("fec_decode: %u parity shards for %u missing", np, e);
	if (len == 0)
		return FEC_OK;
	for (j = 0; j < k; j++)
		if (seen[j] && data[j] != shards[pos[j]])
			memmove(data[j], shards[pos[j]], len);
	if (e == 0)
		return FEC_OK;

	mat = mem_alloc(2 * (size_t)e * e);
	inv = mat + (size_t)e * e;
	res = mem_calloc(e, len);
	for (t = 0; t < e; t++) {
		for (u = 0; u < e; u++)
			mat[t * e + u] = coef(par[t], miss[u]);
		/* residual t: c_p plus the known data shards' share of it */
		memcpy(res + t * len, shards[pos[par[t]]], len);
		for (j = 0; j < k; j++)
			if (seen[j])
				mul_add(res + t * len, data[j], coef(par[t], j), len);
	}
	invert(mat, inv, e);
	for (u = 0; u < e; u++) {
		memset(data[miss[u]], 0, len);
		for (t = 0; t < e; t++)
			mul_add(data[miss[u]], res + t * len, inv[u * e + t], len);
	}
	mcrypto_wipe(res, (size_t)e * len);
	mem_free(res);
	mem_free(mat);
	return FEC_OK;
}

const char *
fec_strerror(enum fec_err err)
{
	switch (err) {
	case FEC_OK:		return "success";
	case FEC_ERR_ARG:	return "invalid arguments";
	case FEC_ERR_TOO_FEW:	return "fewer shards than data shards";
	case FEC_ERR_DUPLICATE:	return "a shard given twice";
	}
	return "unknown error";
}
