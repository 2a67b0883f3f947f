/* Internal interface between g711.c and resample.c (not part of the cffi declarations). */
#ifndef RT_G711_H
#define RT_G711_H
#include <stdint.h>
#include <string.h>

extern uint8_t rt_ulaw_enc_table[16384]; /* index: (s16 >> 2) + 8192 */
extern int16_t rt_ulaw_dec_table[256];
extern float rt_ulaw_dec_float[256];

static inline int16_t read_s16(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    int16_t v;
    memcpy(&v, p, sizeof v); /* compiles to one load */
    return v;
#else
    return (int16_t)(uint16_t)(p[0] | (p[1] << 8));
#endif
}

static inline void write_s16(unsigned char *p, int16_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, sizeof v);
#else
    uint16_t u = (uint16_t)v;
    p[0] = (unsigned char)(u & 0xFF);
    p[1] = (unsigned char)(u >> 8);
#endif
}

static inline uint8_t enc_sample(int16_t s)
{
    return rt_ulaw_enc_table[((int)s + 32768) >> 2];
}

#endif
