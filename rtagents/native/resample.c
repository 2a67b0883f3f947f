/*
 * rtagents native audio kernels: G.711 mu-law and a streaming polyphase resampler.
 *
 * Theory of operation
 * -------------------
 * mu-law.  The encoder is bit-exact with CPython's audioop.lin2ulaw: audioop first floors the
 * sample to 14 bits (x >> 2, arithmetic), so a 16,384-entry table indexed by that value is exact
 * for all 65,536 inputs.  The decoder is a 256-entry table (audioop.ulaw2lin).  Both tables are
 * built once by rt_init() from the arithmetic definitions below.  A-law (audioop.lin2alaw and
 * alaw2lin) is done the same way, flooring to 13 bits.
 *
 * Resampling.  A conversion in_rate -> out_rate is out/in = L/M in lowest terms.  Conceptually the
 * input is zero-stuffed by L, filtered at the prototype rate L*in_rate by the linear-phase FIR of
 * filters.h (N taps, odd) and decimated by M.  Output k is the filtered signal at prototype index
 * m = k*M + D with D = (N-1)/2, i.e. exactly time-aligned with input time k*M/L: the filter's group
 * delay is not a shift of the output but audio *withheld* until the input D prototype samples
 * later has arrived.  Writing m = n*L + p, output k is the dot product of polyphase branch p
 * (K = ceil(N / L) taps, zero-padded) with inputs x[n-K+1 .. n].
 *
 * Streaming.  The state keeps the last K-1 input samples (as float) in front of a block buffer.
 * An output is emitted as soon as its newest input x[n] exists; flush() appends virtual zeros and
 * emits outputs until exactly round_half_even(n_in * L / M) have been produced, then resets.
 * Every output is computed by the same code from the same operands whatever the chunking, so
 * chunked output is bit-identical to one-shot output: each output is one fixed sequence of
 * float32 operations (see dot_scalar), whether it is computed alone or in a vector lane.  Build
 * with -ffp-contract=off so that FMA contraction cannot change that sequence between builds.
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
static uint8_t rt_alaw_enc_table[8192];  /* index: (s16 >> 3) + 4096 */
static int16_t rt_alaw_dec_table[256];
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

/* ------------------------------------------------------------------------------------------ */
/* resampler                                                                                  */

#define RT_MAX_LANES 8   /* outputs computed together by one vector */
#define RT_NB 4          /* vectors computed together (independent accumulators) */
#define RT_MAX_K 192     /* taps per polyphase branch */
#define RT_MAX_COEF 256  /* L * K over all supported pairs (max is 6 * 32 = 192) */
#define RT_MAX_L 6       /* polyphase branches */
#define RT_MAX_M 6       /* tap groups per branch */
#define RT_BLOCK 1024    /* input samples converted to float per inner pass */

/* What the input bytes are, and what the output bytes should be. */
enum { IN_PCM16 = 0, IN_ULAW = 1 };
enum { OUT_PCM16 = 0, OUT_ULAW = 1 };

typedef size_t (*rt_kernel)(rt_resampler *, size_t, unsigned char *, size_t, int, uint64_t);

struct rt_resampler {
    int in_rate, out_rate;
    int L, M;        /* out_rate / in_rate = L / M, lowest terms */
    int K;           /* taps per polyphase branch */
    int D;           /* alignment delay at the prototype rate: (ntaps - 1) / 2 */
    int identity;
    uint64_t n_in;   /* input samples consumed since reset */
    uint64_t k_out;  /* output samples produced since reset */
    rt_kernel kernel; /* the hot loop for this CPU (see resample_kernel.h) */
    /* Branch p's taps, in groups: group e covers taps j = g + t*M for t0 <= t < t0 + T, with
     * coefficients coef[c0 .. c0+T-1]; zero coefficients at a group's ends are left out. */
    struct rt_group {
        int g, t0, T, c0;
    } groups[RT_MAX_L][RT_MAX_M];
    int ngroups[RT_MAX_L];
    float coef[RT_MAX_COEF];
    float buf[RT_MAX_K - 1 + RT_BLOCK]; /* K-1 history samples, then the current block */
    float xs[RT_MAX_K + RT_BLOCK + 2 * RT_NB * RT_MAX_LANES]; /* buf de-interleaved by M (when M > 1) */
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

static rt_kernel pick_kernel(void);

void rt_resampler_reset(rt_resampler *rs)
{
    rs->n_in = 0;
    rs->k_out = 0;
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
    rs->kernel = pick_kernel();
    rs->L = out_rate / g;
    rs->M = in_rate / g;
    if (in_rate == out_rate) {
        rs->identity = 1;
        rs->K = 1;
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
    if (rs->K > RT_MAX_K || rs->K * rs->L > RT_MAX_COEF || rs->L > RT_MAX_L || rs->M > RT_MAX_M) {
        free(rs);
        return NULL;
    }
    rs->D = (ntaps - 1) / 2;
    gain = (float)rs->L; /* zero-stuffing by L divides the passband gain by L */
    /* Branch p, tap j multiplies x[n-K+1+j]: h[p + (K-1-j)*L] (zero past the prototype's end).
     * Store the taps grouped by j mod M, trimming zeros at each group's ends (dot_scalar). */
    {
        int c = 0;
        for (p = 0; p < rs->L; p++) {
            int g;
            rs->ngroups[p] = 0;
            for (g = 0; g < rs->M; g++) {
                int t, first = -1, last = -1;
                for (t = 0; (j = g + t * rs->M) < rs->K; t++) {
                    int idx = p + (rs->K - 1 - j) * rs->L;
                    if (idx < ntaps && spec->h[idx] != 0.0f) {
                        if (first < 0)
                            first = t;
                        last = t;
                    }
                }
                if (first < 0)
                    continue;
                {
                    struct rt_group *e = &rs->groups[p][rs->ngroups[p]++];
                    e->g = g;
                    e->t0 = first;
                    e->T = last - first + 1;
                    e->c0 = c;
                    for (t = first; t <= last; t++)
                        rs->coef[c++] = spec->h[p + (rs->K - 1 - (g + t * rs->M)) * rs->L] * gain;
                }
            }
        }
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

/* Number of outputs whose newest input (index floor((k*M + D) / L)) is below `avail`. */
static uint64_t outputs_ready(const rt_resampler *rs, uint64_t avail)
{
    uint64_t top = avail * (uint64_t)rs->L;
    if (top <= (uint64_t)rs->D)
        return 0;
    return (top - 1 - (uint64_t)rs->D) / (uint64_t)rs->M + 1;
}

size_t rt_resampler_max_out(const rt_resampler *rs, size_t n_in)
{
    /* Outputs available once n_in more samples are in, plus those flush may still owe. */
    uint64_t total = (uint64_t)(rs->n_in + n_in) * (uint64_t)rs->L / (uint64_t)rs->M + 1;
    return (size_t)(total - rs->k_out);
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
 * The arithmetic of one output is fixed: y = +0, then y += h'[i] * x[j_i] for each stored tap i
 * in order, in float32.  The taps are stored grouped by their index modulo M (j = 0, M, 2M, ...,
 * then 1, M+1, ..., and so on; for M = 1 simply j = 0, 1, 2, ...) without the zero coefficients
 * at each group's ends, which add nothing.  The vector kernels compute several outputs of one
 * polyphase class at once (one per lane, each lane doing exactly this sequence); this scalar
 * version does it for one.  Both give identical bits, so which outputs fall into vectors (it
 * depends on the chunking) never changes the result.
 */
static inline float dot_scalar(const rt_resampler *rs, int p, const float *x)
{
    float acc = 0.0f;
    int e, t;
    for (e = 0; e < rs->ngroups[p]; e++) {
        const struct rt_group *grp = &rs->groups[p][e];
        const float *h = rs->coef + grp->c0;
        for (t = 0; t < grp->T; t++)
            acc += h[t] * x[grp->g + (grp->t0 + t) * rs->M];
    }
    return acc;
}

/* Portable build: one output at a time. */
#define KERNEL_NAME run_block_scalar
#define KERNEL_ATTR
#define LANES 1
#define VEC float
#define VLOAD(p) (*(p))
#define VSPLAT(c) (c)
#define VMUL(a, b) ((a) * (b))
#define VADD(a, b) ((a) + (b))
#define VSTORE(p, v) (*(p) = (v))
#define VSTORE16(p, v) write_s16((p), to_s16(v))
#include "resample_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef LANES
#undef VEC
#undef VLOAD
#undef VSPLAT
#undef VMUL
#undef VADD
#undef VSTORE
#undef VSTORE16

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(RT_NO_SIMD)
#include <immintrin.h>
#define RT_X86 1

#define KERNEL_NAME run_block_sse2
#define KERNEL_ATTR __attribute__((target("sse2")))
#define LANES 4
#define VEC __m128
#define VLOAD(p) _mm_loadu_ps(p)
#define VSPLAT(c) _mm_set1_ps(c)
#define VMUL(a, b) _mm_mul_ps((a), (b))
#define VADD(a, b) _mm_add_ps((a), (b))
#define VSTORE(p, v) _mm_storeu_ps((p), (v))
/* round to nearest even (as lrintf) and saturate (as to_s16); x86 is little-endian */
#define VSTORE16(p, v)                                                                           \
    do {                                                                                         \
        __m128i i32_ = _mm_cvtps_epi32(v);                                                      \
        _mm_storel_epi64((__m128i *)(void *)(p), _mm_packs_epi32(i32_, i32_));                   \
    } while (0)
#include "resample_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef LANES
#undef VEC
#undef VLOAD
#undef VSPLAT
#undef VMUL
#undef VADD
#undef VSTORE
#undef VSTORE16

#define KERNEL_NAME run_block_avx
#define KERNEL_ATTR __attribute__((target("avx")))
#define LANES 8
#define VEC __m256
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSPLAT(c) _mm256_set1_ps(c)
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSTORE16(p, v)                                                                           \
    do {                                                                                         \
        __m256i i32_ = _mm256_cvtps_epi32(v);                                                   \
        _mm_storeu_si128((__m128i *)(void *)(p),                                                 \
                         _mm_packs_epi32(_mm256_castsi256_si128(i32_),                           \
                                         _mm256_extractf128_si256(i32_, 1)));                     \
    } while (0)
#include "resample_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#undef LANES
#undef VEC
#undef VLOAD
#undef VSPLAT
#undef VMUL
#undef VADD
#undef VSTORE
#undef VSTORE16
#endif

static rt_kernel pick_kernel(void)
{
    const char *force = getenv("RTAGENTS_KERNEL"); /* "scalar", "sse2" or "avx": for tests */
#ifdef RT_X86
    if (force && strcmp(force, "scalar") == 0)
        return run_block_scalar;
    if (force && strcmp(force, "sse2") == 0)
        return run_block_sse2;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx"))
        return run_block_avx;
    return run_block_sse2;
#else
    (void)force;
    return run_block_scalar;
#endif
}

const char *rt_kernel_name(const rt_resampler *rs)
{
    if (rs->identity)
        return "copy";
#ifdef RT_X86
    if (rs->kernel == run_block_avx)
        return "avx";
    if (rs->kernel == run_block_sse2)
        return "sse2";
#endif
    return "scalar";
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
        k = rs->kernel(rs, cnt, out, k, out_kind, UINT64_MAX);
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
            k = rs->kernel(rs, RT_BLOCK, out, k, out_kind, total);
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
