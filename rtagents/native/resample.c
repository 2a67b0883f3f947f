/*
 * rtagents native audio kernels: a streaming polyphase resampler with fused G.711 mu-law paths.
 *
 * Theory of operation (G.711 itself is in g711.c)
 * -------------------
 * Resampling.  A conversion in_rate -> out_rate is out/in = L/M in lowest terms.  Conceptually the
 * input is zero-stuffed by L, filtered at the prototype rate lcm(in, out) = P * low (low the lower
 * rate) by a linear-phase FIR and decimated by M.  The FIR is built when the resampler is created
 * by sampling the one continuous kernel of filters.h (kernel_at): N = 2*T*P - 1 taps, k(n/P)/P
 * (2:1 pairs from 11,025 Hz up take filters.h's half-band filter instead: half its taps are 0).
 * Output k is the filtered signal at prototype index m = k*M + D with D = (N-1)/2, i.e. exactly
 * time-aligned with input time k*M/L: the filter's group delay is not a shift of the output but
 * audio *withheld* until the input D prototype samples later has arrived.  Writing m = n*L + p,
 * output k is the dot product of polyphase branch p (K = ceil(N / L) taps, zero-padded) with
 * inputs x[n-K+1 .. n].  Small ratios (L, M <= 12, e.g. 8 <-> 48 kHz) run the per-class kernel,
 * which vectorises over outputs that share a branch; large ones (44.1 <-> 48 kHz is 160/147) the
 * per-output kernel, which vectorises over the taps of one output.
 *
 * Streaming.  The state keeps the last K-1 input samples (as float) in front of a block buffer.
 * An output is emitted as soon as its newest input x[n] exists; flush() appends virtual zeros and
 * emits outputs until exactly round_half_even(n_in * L / M) have been produced, then resets.
 * Every output is computed by the same code from the same operands whatever the chunking, so
 * chunked output is bit-identical to one-shot output: each output is one fixed sequence of
 * float32 operations (see dot_scalar and dot_taps_scalar), whether it is computed alone or in a
 * vector lane.  Build
 * with -ffp-contract=off so that FMA contraction cannot change that sequence between builds.
 *
 * All PCM16 is little-endian mono, read and written byte-wise so the code is endian-neutral.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "filters.h"
#include "g711.h"
#include "resample.h"

/* ------------------------------------------------------------------------------------------ */
/* resampler                                                                                  */

#define RT_MAX_LANES 8   /* outputs computed together by one vector */
#define RT_NB 4          /* vectors computed together (independent accumulators) */
#define RT_MAX_K 384     /* taps per polyphase branch: 2T x the largest ratio (12) */
#define RT_MAX_L 12      /* polyphase branches, for the per-class kernel */
#define RT_MAX_M 12      /* tap groups per branch, for the per-class kernel */
#define RT_TAP_LANES 8   /* partial sums of the per-output kernel (see dot_taps_scalar) */
#define RT_MAX_COEF (1 << 20) /* coefficients of one polyphase bank (4 MB) */
#define RT_MIN_RATE 1000
#define RT_MAX_RATE 384000
#define RT_BLOCK 1024    /* input samples converted to float per inner pass */

/* What the input bytes are, and what the output bytes should be. */
enum { IN_PCM16 = 0, IN_ULAW = 1 };
enum { OUT_PCM16 = 0, OUT_ULAW = 1 };

typedef size_t (*rt_kernel)(rt_resampler *, size_t, unsigned char *, size_t, int, uint64_t);

struct rt_resampler {
    int in_rate, out_rate;
    int L, M;        /* out_rate / in_rate = L / M, lowest terms */
    int K;           /* taps per polyphase branch (a multiple of RT_TAP_LANES if tapwise) */
    int64_t D;       /* alignment delay at the prototype rate: (ntaps - 1) / 2 */
    int identity;
    int tapwise;     /* 1: the per-output kernel (large L or M); 0: the per-class kernel */
    uint64_t n_in;   /* input samples consumed since reset */
    uint64_t k_out;  /* output samples produced since reset */
    rt_kernel kernel; /* the hot loop for this CPU (see resample_kernel.h) */
    /* Per-class kernel: branch p's taps, in groups: group e covers taps j = g + t*M for
     * t0 <= t < t0 + T, with coefficients coef[c0 .. c0+T-1]; zero coefficients at a group's
     * ends are left out.  Per-output kernel: branch p's K taps are coef[p*K .. p*K + K-1]. */
    struct rt_group {
        int g, t0, T, c0;
    } groups[RT_MAX_L][RT_MAX_M];
    int ngroups[RT_MAX_L];
    float *coef;
    float buf[RT_MAX_K - 1 + RT_BLOCK]; /* K-1 history samples, then the current block */
    float xs[RT_MAX_K + RT_BLOCK + 2 * RT_NB * RT_MAX_LANES]; /* buf de-interleaved by M (when M > 1) */
};

static long gcd_long(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/*
 * The kernel of filters.h at tau = num / den (samples of the lower rate), num >= 0: cubic
 * Hermite interpolation in its table.  tools/design_filters.py (hermite) and the tests repeat
 * this exact sequence of double operations, so they reproduce these taps bit for bit.
 */
static double kernel_at(int64_t num, int64_t den)
{
    const int64_t last = (int64_t)RT_KERNEL_HALF_WIDTH * RT_KERNEL_STEPS;
    int64_t u = num * RT_KERNEL_STEPS;
    int64_t i = u / den;
    double t, t2, t3;
    if (u >= last * den)
        return 0.0;
    if (i > last - 1)
        i = last - 1;
    t = (double)(u - i * den) / (double)den;
    t2 = t * t;
    t3 = t2 * t;
    return (2 * t3 - 3 * t2 + 1) * rt_kernel_value[i] + (t3 - 2 * t2 + t) * rt_kernel_slope[i] +
           (-2 * t3 + 3 * t2) * rt_kernel_value[i + 1] + (t3 - t2) * rt_kernel_slope[i + 1];
}

static rt_kernel pick_kernel(int tapwise);

void rt_resampler_reset(rt_resampler *rs)
{
    rs->n_in = 0;
    rs->k_out = 0;
    memset(rs->buf, 0, sizeof(rs->buf));
}

/* Group branch p's taps by j mod M for the per-class kernel (see dot_scalar). */
static void build_groups(rt_resampler *rs, const float *h, int64_t ntaps)
{
    int c = 0, p, g, t, j;
    for (p = 0; p < rs->L; p++) {
        rs->ngroups[p] = 0;
        for (g = 0; g < rs->M; g++) {
            int first = -1, last = -1;
            for (t = 0; (j = g + t * rs->M) < rs->K; t++) {
                int64_t idx = p + (int64_t)(rs->K - 1 - j) * rs->L;
                if (idx < ntaps && h[idx] != 0.0f) {
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
                    rs->coef[c++] = h[p + (int64_t)(rs->K - 1 - (g + t * rs->M)) * rs->L];
            }
        }
    }
}

rt_resampler *rt_resampler_new(int in_rate, int out_rate)
{
    rt_resampler *rs;
    int64_t g, low, phases, ntaps, n, j, taps;
    int p, half_band;
    float *h;

    if (in_rate < RT_MIN_RATE || in_rate > RT_MAX_RATE || out_rate < RT_MIN_RATE ||
        out_rate > RT_MAX_RATE)
        return NULL;
    rs = (rt_resampler *)calloc(1, sizeof(*rs));
    if (!rs)
        return NULL;
    rt_init();
    rs->in_rate = in_rate;
    rs->out_rate = out_rate;
    g = (int64_t)gcd_long(in_rate, out_rate);
    rs->L = (int)(out_rate / g);
    rs->M = (int)(in_rate / g);
    if (in_rate == out_rate) {
        rs->identity = 1;
        rs->K = 1;
        rs->D = 0;
        rs->kernel = pick_kernel(0);
        rt_resampler_reset(rs);
        return rs;
    }
    /* The prototype at lcm = phases * low: taps k(n / phases) / phases, |n| < T * phases. */
    low = in_rate < out_rate ? in_rate : out_rate;
    phases = (int64_t)rs->L * rs->M * g / low; /* = the higher rate / gcd: at most 384000 */
    /* A 2:1 pair takes the half-band filter when its delay fits in 2 ms: (ntaps-1)/2 / lcm. */
    half_band = phases == 2 && (RT_HALF_BAND_TAPS - 1) * 125 <= low;
    ntaps = half_band ? RT_HALF_BAND_TAPS : 2 * RT_KERNEL_HALF_WIDTH * phases - 1;
    rs->D = (ntaps - 1) / 2;
    taps = (ntaps + rs->L - 1) / rs->L;
    rs->tapwise = rs->L > RT_MAX_L || rs->M > RT_MAX_M;
    if (rs->tapwise)
        taps = (taps + RT_TAP_LANES - 1) / RT_TAP_LANES * RT_TAP_LANES;
    if (taps > RT_MAX_K || taps * rs->L > RT_MAX_COEF) {
        free(rs);
        return NULL;
    }
    rs->K = (int)taps;
    h = (float *)malloc((size_t)ntaps * sizeof(float));
    rs->coef = (float *)calloc((size_t)rs->K * (size_t)rs->L, sizeof(float));
    if (!h || !rs->coef) {
        free(h);
        free(rs->coef);
        free(rs);
        return NULL;
    }
    /* Zero-stuffing by L divides the passband gain by L: the taps carry the factor back. */
    for (n = 0; n < ntaps; n++)
        h[n] = (float)((half_band ? rt_half_band[n]
                                  : kernel_at(n > rs->D ? n - rs->D : rs->D - n, phases) /
                                        (double)phases) *
                       (double)rs->L);
    if (rs->tapwise) {
        /* Branch p, tap j multiplies x[n-K+1+j]: h[p + (K-1-j)*L] (zero past the end). */
        for (p = 0; p < rs->L; p++)
            for (j = 0; j < rs->K; j++) {
                int64_t idx = p + (rs->K - 1 - j) * (int64_t)rs->L;
                rs->coef[(int64_t)p * rs->K + j] = idx < ntaps ? h[idx] : 0.0f;
            }
    } else {
        build_groups(rs, h, ntaps);
    }
    free(h);
    rs->kernel = pick_kernel(rs->tapwise);
    rt_resampler_reset(rs);
    return rs;
}

void rt_resampler_free(rt_resampler *rs)
{
    if (rs)
        free(rs->coef);
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

/*
 * The per-output kernel (many branches: L or M above RT_MAX_L / RT_MAX_M) vectorises over the
 * taps of one output instead.  Its arithmetic is fixed too: K is a multiple of 8; partial sum
 * s_r (r = 0..7) accumulates h[j] * x[j] for j = r, r+8, r+16, ... in order from +0, and
 * y = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)).  One AVX vector or two SSE2 vectors
 * hold s_0..s_7 of an output, and the final sums of 8 (AVX) or 4 (SSE2) outputs are finished
 * together by horizontal adds / a transpose; this scalar version computes the same bits.
 */
static inline void dot_taps_scalar(const float *const *h, const float *const *x, int K, float *y)
{
    float s[RT_TAP_LANES] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    int j, r;
    for (j = 0; j < K; j += RT_TAP_LANES)
        for (r = 0; r < RT_TAP_LANES; r++)
            s[r] = s[r] + h[0][j + r] * x[0][j + r];
    y[0] = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

/* Portable build: one output at a time. */
#define KERNEL_NAME run_block_scalar
#define TAP_NAME run_taps_scalar
#define TAP_DOT dot_taps_scalar
#define TAP_BATCH 1
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
#undef TAP_NAME
#undef TAP_DOT
#undef TAP_BATCH
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

/* 4 outputs: s_0..s_3 in a[i], s_4..s_7 in b[i]; a 4 x 4 transpose finishes their sums. */
__attribute__((target("sse2"))) static inline void dot_taps_sse2(const float *const *h,
                                                                 const float *const *x, int K,
                                                                 float *y)
{
    __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int j;
    for (j = 0; j < K; j += 8) {
#define RT_STEP(a, b, i)                                                                         \
    a = _mm_add_ps(a, _mm_mul_ps(_mm_loadu_ps(h[i] + j), _mm_loadu_ps(x[i] + j)));              \
    b = _mm_add_ps(b, _mm_mul_ps(_mm_loadu_ps(h[i] + j + 4), _mm_loadu_ps(x[i] + j + 4)))
        RT_STEP(a0, b0, 0);
        RT_STEP(a1, b1, 1);
        RT_STEP(a2, b2, 2);
        RT_STEP(a3, b3, 3);
#undef RT_STEP
    }
    _MM_TRANSPOSE4_PS(a0, a1, a2, a3); /* a_r lane i: s_r of output i */
    _MM_TRANSPOSE4_PS(b0, b1, b2, b3); /* b_r lane i: s_(4+r) of output i */
    _mm_storeu_ps(y, _mm_add_ps(_mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3)),
                                _mm_add_ps(_mm_add_ps(b0, b1), _mm_add_ps(b2, b3))));
}

/* 8 outputs, one vector of s_0..s_7 each; horizontal adds finish all 8 sums at once. */
__attribute__((target("avx"))) static inline void dot_taps_avx(const float *const *h,
                                                               const float *const *x, int K,
                                                               float *y)
{
    __m256 acc[8], q0, q1;
    int i, j;
    for (i = 0; i < 8; i++)
        acc[i] = _mm256_setzero_ps();
    for (j = 0; j < K; j += 8)
        for (i = 0; i < 8; i++)
            acc[i] = _mm256_add_ps(
                acc[i], _mm256_mul_ps(_mm256_loadu_ps(h[i] + j), _mm256_loadu_ps(x[i] + j)));
    /* lane i of q0 (i < 4): (s0+s1)+(s2+s3) of output i, lane 4+i: (s4+s5)+(s6+s7); q1: 4..7 */
    q0 = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
    q1 = _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
    _mm256_storeu_ps(y, _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20),
                                      _mm256_permute2f128_ps(q0, q1, 0x31)));
}

#define KERNEL_NAME run_block_sse2
#define TAP_NAME run_taps_sse2
#define TAP_DOT dot_taps_sse2
#define TAP_BATCH 4
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
#undef TAP_NAME
#undef TAP_DOT
#undef TAP_BATCH
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
#define TAP_NAME run_taps_avx
#define TAP_DOT dot_taps_avx
#define TAP_BATCH 8
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
#undef TAP_NAME
#undef TAP_DOT
#undef TAP_BATCH
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

static rt_kernel pick_kernel(int tapwise)
{
    const char *force = getenv("RTAGENTS_KERNEL"); /* "scalar", "sse2" or "avx": for tests */
#ifdef RT_X86
    if (force && strcmp(force, "scalar") == 0)
        return tapwise ? run_taps_scalar : run_block_scalar;
    if (force && strcmp(force, "sse2") == 0)
        return tapwise ? run_taps_sse2 : run_block_sse2;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx"))
        return tapwise ? run_taps_avx : run_block_avx;
    return tapwise ? run_taps_sse2 : run_block_sse2;
#else
    (void)force;
    return tapwise ? run_taps_scalar : run_block_scalar;
#endif
}

const char *rt_kernel_name(const rt_resampler *rs)
{
    if (rs->identity)
        return "copy";
#ifdef RT_X86
    if (rs->kernel == run_block_avx || rs->kernel == run_taps_avx)
        return "avx";
    if (rs->kernel == run_block_sse2 || rs->kernel == run_taps_sse2)
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
