/*
 * G.711 mu-law and A-law, bit-exact with CPython's audioop.
 *
 * The encoder is bit-exact with audioop.lin2ulaw: audioop first floors the sample to 14 bits
 * (x >> 2, arithmetic), so a 16,384-entry table indexed by that value is exact for all 65,536
 * inputs.  The decoder is a 256-entry table (audioop.ulaw2lin).  Both tables are built once by
 * rt_init() from the arithmetic definitions below.  A-law (audioop.lin2alaw and alaw2lin) is done
 * the same way, flooring to 13 bits.  resample.c uses the mu-law tables for its fused paths.
 */
#include <stdint.h>
#include <string.h>

#include "g711.h"
#include "resample.h"

/* ------------------------------------------------------------------------------------------ */
/* mu-law                                                                                     */

uint8_t rt_ulaw_enc_table[16384]; /* index: (s16 >> 2) + 8192 */
static uint8_t rt_alaw_enc_table[8192];  /* index: (s16 >> 3) + 4096 */
static int16_t rt_alaw_dec_table[256];
int16_t rt_ulaw_dec_table[256];
float rt_ulaw_dec_float[256];
static int rt_ready = 0;

static uint8_t ulaw_encode_14(int s14)
{
    static const int seg_end[8] = {0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF};
    int mag, mask, seg;
    if (s14 < 0) {
        mag = -s14;
        mask = 0x7F;
    } else {
        mag = s14;
        mask = 0xFF;
    }
    if (mag > 8159)
        mag = 8159;
    mag += 33;
    for (seg = 0; seg < 8; seg++)
        if (mag <= seg_end[seg])
            break;
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((mag >> (seg + 1)) & 0x0F)) ^ mask);
}

static int16_t ulaw_decode_one(uint8_t code)
{
    int u = (~code) & 0xFF;
    int t = ((u & 0x0F) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    return (int16_t)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

/* A-law as audioop.lin2alaw: the sample is floored to 13 bits (x >> 3) first. */
static uint8_t alaw_encode_13(int s13)
{
    static const int seg_end[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
    int mask, seg, aval;
    if (s13 >= 0) {
        mask = 0xD5;
    } else {
        mask = 0x55;
        s13 = -s13 - 1;
    }
    for (seg = 0; seg < 8; seg++)
        if (s13 <= seg_end[seg])
            break;
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    aval = seg << 4;
    aval |= (seg < 2 ? (s13 >> 1) : (s13 >> seg)) & 0x0F;
    return (uint8_t)(aval ^ mask);
}

static int16_t alaw_decode_one(uint8_t code)
{
    int a = code ^ 0x55;
    int t = (a & 0x0F) << 4;
    int seg = (a & 0x70) >> 4;
    if (seg == 0)
        t += 8;
    else if (seg == 1)
        t += 0x108;
    else
        t = (t + 0x108) << (seg - 1);
    return (int16_t)((a & 0x80) ? t : -t);
}

void rt_init(void)
{
    int i;
    if (rt_ready)
        return;
    for (i = 0; i < 16384; i++)
        rt_ulaw_enc_table[i] = ulaw_encode_14(i - 8192);
    for (i = 0; i < 8192; i++)
        rt_alaw_enc_table[i] = alaw_encode_13(i - 4096);
    for (i = 0; i < 256; i++) {
        rt_alaw_dec_table[i] = alaw_decode_one((uint8_t)i);
        rt_ulaw_dec_table[i] = ulaw_decode_one((uint8_t)i);
        rt_ulaw_dec_float[i] = (float)rt_ulaw_dec_table[i];
    }
    rt_ready = 1;
}

void rt_ulaw_encode(const char *pcm, size_t n, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)pcm;
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = enc_sample(read_s16(p + 2 * i));
}

void rt_ulaw_decode(const char *ulaw, size_t n, unsigned char *out)
{
    const unsigned char *u = (const unsigned char *)ulaw;
    size_t i;
    for (i = 0; i < n; i++)
        write_s16(out + 2 * i, rt_ulaw_dec_table[u[i]]);
}

void rt_alaw_encode(const char *pcm, size_t n, unsigned char *out)
{
    const unsigned char *p = (const unsigned char *)pcm;
    size_t i;
    for (i = 0; i < n; i++)
        out[i] = rt_alaw_enc_table[((int)read_s16(p + 2 * i) + 32768) >> 3];
}

void rt_alaw_decode(const char *alaw, size_t n, unsigned char *out)
{
    const unsigned char *a = (const unsigned char *)alaw;
    size_t i;
    for (i = 0; i < n; i++)
        write_s16(out + 2 * i, rt_alaw_dec_table[a[i]]);
}

