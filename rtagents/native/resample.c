/*
 * rtagents native audio kernels: G.711 mu-law and a streaming polyphase resampler.
 *
 * Theory of operation
 * -------------------
 * mu-law.  The encoder is bit-exact with CPython's audioop.lin2ulaw: audioop first floors the
 * sample to 14 bits (x >> 2, arithmetic), so a 16,384-entry table indexed by that value is exact
 * for all 65,536 inputs.  The decoder is a 256-entry table (audioop.ulaw2lin).  Both tables are
 * built once by rt_init() from the arithmetic definitions below.
 *
 * Resampling.  A conversion in_rate -> out_rate is out/in = L/M in lowest terms.  Conceptually the
 * input is zero-stuffed by L, filtered at the prototype rate L*in_rate by the linear-phase FIR of
 * filters.h (N taps, odd) and decimated by M.  Output k is the filtered signal at prototype index
 * m = k*M + D with D = (N-1)/2, i.e. exactly time-aligned with input time k*M/L: the filter's group
 * delay is not a shift of the output but audio *withheld* until the input D prototype samples
 * later has arrived.  Writing m = n*L + p, output k is the dot product of polyphase branch p
 * (K taps, K a multiple of 8, zero-padded) with inputs x[n-K+1 .. n].
 *
 * Streaming.  The state keeps the last K-1 input samples (as float) in front of a block buffer.
 * An output is emitted as soon as its newest input x[n] exists; flush() appends virtual zeros and
 * emits outputs until exactly round_half_even(n_in * L / M) have been produced, then resets.
 * Every output is computed by the same code from the same operands whatever the chunking, so
 * chunked output is bit-identical to one-shot output.  The dot product uses eight explicit
 * accumulator lanes in a fixed order (no reassociation by the compiler), so results do not depend
 * on buffer alignment; build with -ffp-contract=off so FMA contraction cannot differ between
 * builds either.
 *
 * All PCM16 is little-endian mono, read and written byte-wise so the code is endian-neutral.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "resample.h"
#include "filters.h"

/* ------------------------------------------------------------------------------------------ */
/* mu-law                                                                                     */

static uint8_t rt_ulaw_enc_table[16384]; /* index: (s16 >> 2) + 8192 */
static int16_t rt_ulaw_dec_table[256];
static float rt_ulaw_dec_float[256];
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

void rt_init(void)
{
    int i;
    if (rt_ready)
        return;
    for (i = 0; i < 16384; i++)
        rt_ulaw_enc_table[i] = ulaw_encode_14(i - 8192);
    for (i = 0; i < 256; i++) {
        rt_ulaw_dec_table[i] = ulaw_decode_one((uint8_t)i);
        rt_ulaw_dec_float[i] = (float)rt_ulaw_dec_table[i];
    }
    rt_ready = 1;
}

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

/* ------------------------------------------------------------------------------------------ */
/* resampler                                                                                  */

#define RT_LANES 8
#define RT_MAX_K 192     /* taps per branch, padded to a multiple of RT_LANES */
#define RT_MAX_COEF 256  /* L * K over all supported pairs (max is 6 * 32 = 192) */
#define RT_BLOCK 1024    /* input samples converted to float per inner pass */

/* What the input bytes are, and what the output bytes should be. */
enum { IN_PCM16 = 0, IN_ULAW = 1 };
enum { OUT_PCM16 = 0, OUT_ULAW = 1 };

struct rt_resampler {
    int in_rate, out_rate;
    int L, M;      /* out_rate / in_rate = L / M, lowest terms */
    int K;         /* taps per polyphase branch (multiple of RT_LANES) */
    int D;         /* alignment delay at the prototype rate: (ntaps - 1) / 2 */
    int identity;
    int step_n, step_p;  /* M = step_n * L + step_p */
    uint64_t n_in;       /* input samples consumed since reset */
    uint64_t k_out;      /* output samples produced since reset */
    int64_t next_n;      /* newest input index the next output needs */
    int next_p;          /* its polyphase branch */
    float coef[RT_MAX_COEF];
    float buf[RT_MAX_K - 1 + RT_BLOCK]; /* K-1 history samples, then the current block */
};

static int gcd_int(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int rate_supported(int r)
{
    return r == 8000 || r == 16000 || r == 24000 || r == 48000;
}

void rt_resampler_reset(rt_resampler *rs)
{
    rs->n_in = 0;
    rs->k_out = 0;
    rs->next_n = rs->D / rs->L;
    rs->next_p = rs->D % rs->L;
    memset(rs->buf, 0, sizeof(rs->buf));
}

rt_resampler *rt_resampler_new(int in_rate, int out_rate)
{
    rt_resampler *rs;
    const rt_filter_spec *spec = NULL;
    int g, lo, hi, i, p, j, ntaps;
    float gain;

    if (!rate_supported(in_rate) || !rate_supported(out_rate))
        return NULL;
    rs = (rt_resampler *)calloc(1, sizeof(*rs));
    if (!rs)
        return NULL;
    rt_init();
    rs->in_rate = in_rate;
    rs->out_rate = out_rate;
    g = gcd_int(in_rate, out_rate);
    rs->L = out_rate / g;
    rs->M = in_rate / g;
    rs->step_n = rs->M / rs->L;
    rs->step_p = rs->M % rs->L;
    if (in_rate == out_rate) {
        rs->identity = 1;
        rs->K = RT_LANES;
        rs->D = 0;
        rt_resampler_reset(rs);
        return rs;
    }
    lo = in_rate < out_rate ? in_rate : out_rate;
    hi = in_rate < out_rate ? out_rate : in_rate;
    for (i = 0; i < RT_NUM_FILTERS; i++)
        if (rt_filters[i].rate_low == lo && rt_filters[i].rate_high == hi)
            spec = &rt_filters[i];
    if (!spec) {
        free(rs);
        return NULL;
    }
    ntaps = spec->ntaps;
    rs->K = (ntaps + rs->L - 1) / rs->L;
    rs->K = (rs->K + RT_LANES - 1) / RT_LANES * RT_LANES;
    if (rs->K > RT_MAX_K || rs->K * rs->L > RT_MAX_COEF) {
        free(rs);
        return NULL;
    }
    rs->D = (ntaps - 1) / 2;
    gain = (float)rs->L; /* zero-stuffing by L divides the passband gain by L */
    for (p = 0; p < rs->L; p++)
        for (j = 0; j < rs->K; j++) {
            int idx = p + (rs->K - 1 - j) * rs->L;
            rs->coef[p * rs->K + j] = idx < ntaps ? spec->h[idx] * gain : 0.0f;
        }
    rt_resampler_reset(rs);
    return rs;
}

void rt_resampler_free(rt_resampler *rs)
{
    free(rs);
}

double rt_resampler_delay(const rt_resampler *rs)
{
    return (double)rs->D / (double)rs->M;
}

static uint64_t round_half_even_div(uint64_t num, uint64_t den)
{
    uint64_t q = num / den, r = num % den;
    if (2 * r > den || (2 * r == den && (q & 1)))
        q++;
    return q;
}

size_t rt_resampler_max_out(const rt_resampler *rs, size_t n_in)
{
    /* Outputs available once n_in more samples are in, plus those flush may still owe. */
    uint64_t total = (uint64_t)(rs->n_in + n_in) * (uint64_t)rs->L / (uint64_t)rs->M + 1;
    return (size_t)(total - rs->k_out);
}

/* Eight float lanes.  With the default target GCC lowers each operation to two SSE
 * instructions; in the AVX2 clone to one.  The operations and their order are the same either
 * way, so both give identical results. */
typedef float v8sf __attribute__((vector_size(32)));

static inline v8sf load8(const float *p)
{
    v8sf v;
    memcpy(&v, p, sizeof v); /* unaligned load */
    return v;
}

static inline float dot(const float *h, const float *x, int K)
{
    v8sf acc = load8(h) * load8(x);
    int j;
    for (j = RT_LANES; j < K; j += RT_LANES)
        acc += load8(h + j) * load8(x + j);
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline int16_t to_s16(float y)
{
    if (y >= 32767.0f)
        return 32767;
    if (y <= -32768.0f)
        return -32768;
    return (int16_t)lrintf(y);
}

static inline void emit(unsigned char *out, size_t k, float y, int out_kind)
{
    int16_t s = to_s16(y);
    if (out_kind == OUT_ULAW)
        out[k] = enc_sample(s);
    else
        write_s16(out + 2 * k, s);
}

/*
 * Append `cnt` samples (already in rs->buf after the history) and emit every output whose newest
 * input is now present, but never past output index `limit`.  Then slide the history.
 */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(RT_NO_CLONES)
/* Runtime dispatch (ifunc) to an AVX2 build of the hot loop where the CPU has it. */
#define RT_HOT __attribute__((target_clones("avx2", "default")))
#else
#define RT_HOT
#endif

RT_HOT static size_t run_block(rt_resampler *rs, size_t cnt, unsigned char *out, size_t k, int out_kind,
                        uint64_t limit)
{
    const int K = rs->K, L = rs->L;
    const int64_t base = (int64_t)rs->n_in - (K - 1); /* absolute index of rs->buf[0] */
    const int64_t avail = (int64_t)(rs->n_in + cnt);  /* inputs 0 .. avail-1 exist */
    int64_t n = rs->next_n;
    int p = rs->next_p;
    uint64_t kk = rs->k_out;

    while (n < avail && kk < limit) {
        const float *x = rs->buf + (n - (K - 1) - base);
        emit(out, k++, dot(rs->coef + p * K, x, K), out_kind);
        kk++;
        n += rs->step_n;
        p += rs->step_p;
        if (p >= L) {
            p -= L;
            n++;
        }
    }
    rs->next_n = n;
    rs->next_p = p;
    rs->k_out = kk;
    rs->n_in += cnt;
    memmove(rs->buf, rs->buf + cnt, (size_t)(K - 1) * sizeof(float));
    return k;
}

static size_t process_any(rt_resampler *rs, const unsigned char *in, size_t n, unsigned char *out,
                          int in_kind, int out_kind)
{
    size_t k = 0, done = 0;
    float *dst = rs->buf + (rs->K - 1);
    if (rs->identity) {
        size_t i;
        for (i = 0; i < n; i++) {
            int16_t s = in_kind == IN_ULAW ? rt_ulaw_dec_table[in[i]] : read_s16(in + 2 * i);
            if (out_kind == OUT_ULAW)
                out[i] = enc_sample(s);
            else
                write_s16(out + 2 * i, s);
        }
        rs->n_in += n;
        rs->k_out += n;
        return n;
    }
    while (done < n) {
        size_t cnt = n - done, i;
        if (cnt > RT_BLOCK)
            cnt = RT_BLOCK;
        if (in_kind == IN_ULAW)
            for (i = 0; i < cnt; i++)
                dst[i] = rt_ulaw_dec_float[in[done + i]];
        else
            for (i = 0; i < cnt; i++)
                dst[i] = (float)read_s16(in + 2 * (done + i));
        k = run_block(rs, cnt, out, k, out_kind, UINT64_MAX);
        done += cnt;
    }
    return k;
}

size_t rt_resampler_process(rt_resampler *rs, const char *pcm, size_t n, unsigned char *out)
{
    return process_any(rs, (const unsigned char *)pcm, n, out, IN_PCM16, OUT_PCM16);
}

size_t rt_resampler_process_ulaw(rt_resampler *rs, const char *ulaw, size_t n, unsigned char *out)
{
    return process_any(rs, (const unsigned char *)ulaw, n, out, IN_ULAW, OUT_PCM16);
}

size_t rt_resampler_process_to_ulaw(rt_resampler *rs, const char *pcm, size_t n,
                                    unsigned char *out)
{
    return process_any(rs, (const unsigned char *)pcm, n, out, IN_PCM16, OUT_ULAW);
}

static size_t flush_any(rt_resampler *rs, unsigned char *out, int out_kind)
{
    size_t k = 0;
    uint64_t total;
    if (!rs->identity) {
        total = round_half_even_div(rs->n_in * (uint64_t)rs->L, (uint64_t)rs->M);
        while (rs->k_out < total) {
            /* Feed a block of virtual zeros; the limit stops exactly at `total`. */
            memset(rs->buf + (rs->K - 1), 0, RT_BLOCK * sizeof(float));
            k = run_block(rs, RT_BLOCK, out, k, out_kind, total);
        }
    }
    rt_resampler_reset(rs);
    return k;
}

size_t rt_resampler_flush(rt_resampler *rs, unsigned char *out)
{
    return flush_any(rs, out, OUT_PCM16);
}

size_t rt_resampler_flush_to_ulaw(rt_resampler *rs, unsigned char *out)
{
    return flush_any(rs, out, OUT_ULAW);
}

size_t rt_resampler_pending_out(const rt_resampler *rs)
{
    /* How many samples flush() would emit now. */
    if (rs->identity)
        return 0;
    return (size_t)(round_half_even_div(rs->n_in * (uint64_t)rs->L, (uint64_t)rs->M) - rs->k_out);
}
