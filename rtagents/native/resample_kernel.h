/*
 * The resampler's hot loop, written once and compiled per instruction set: resample.c includes
 * this file several times with different vector macros.  Expects:
 *   KERNEL_NAME   function name          KERNEL_ATTR  function attributes (target)
 *   LANES         outputs per vector     VEC          vector type
 *   VLOAD(p)      unaligned load         VSPLAT(c)    broadcast a float
 *   VMUL, VADD    lane-wise float ops    VSTORE(p,v)  unaligned store
 *   VSTORE16(p,v) round (to nearest even) and saturate to int16, store LANES PCM16 samples
 *   TAP_NAME      the per-output kernel  TAP_BATCH    outputs per TAP_DOT call
 *   TAP_DOT(h, x, K, y)  y[i] = taps h[i] . inputs x[i], i < TAP_BATCH, with dot_taps_scalar's bits
 *
 * The history and `cnt` new samples are in rs->buf.  Emit every output whose newest input is now
 * present, but never past output index `limit`; then slide the history.
 *
 * Output k has prototype index m = k*M + D = n*L + p: branch p applied to x[n-K+1 .. n].  Outputs
 * k, k+L, k+2L, ... share the branch and step n by M, so a run of LANES*L consecutive outputs is
 * L vectors, one per class; RT_NB such runs are computed together, so that RT_NB independent
 * accumulators hide the latency of the adds.  With M = 1 each lane's inputs come from one
 * unaligned load; with
 * M > 1 the buffer is first split into M interleaved streams (rs->xs) so that they do again, and
 * the taps are visited grouped by j mod M (see dot_scalar) so each group is one contiguous run.
 * Each lane performs exactly the operation sequence of dot_scalar(), so every build and every
 * chunking produce the same bits.
 */
#define RT_CAT2(a, b) a##b
#define RT_CAT(a, b) RT_CAT2(a, b)
#define CLASS_FN RT_CAT(KERNEL_NAME, _class)

/* acc[r] lane i := output of branch p for inputs starting at s0 + (r*LANES + i)*M. */
KERNEL_ATTR static inline void CLASS_FN(const rt_resampler *rs, int p, int64_t s0, size_t stride,
                                        int nb, VEC *acc)
{
    const int M = rs->M;
    int e, r, t;
    for (r = 0; r < nb; r++)
        acc[r] = VSPLAT(0.0f);
    for (e = 0; e < rs->ngroups[p]; e++) {
        /* the group's taps j = g + t*M are, for lane i, one contiguous run of one stream */
        const struct rt_group *grp = &rs->groups[p][e];
        const float *h = rs->coef + grp->c0;
        const float *x;
        if (M == 1) {
            x = rs->buf + s0 + grp->t0;
        } else {
            const int64_t a = s0 + grp->g;
            x = rs->xs + (size_t)(a % M) * stride + (size_t)(a / M) + (size_t)grp->t0;
        }
        for (t = 0; t < grp->T; t++) {
            const VEC hb = VSPLAT(h[t]);
            for (r = 0; r < nb; r++)
                acc[r] = VADD(acc[r], VMUL(hb, VLOAD(x + t + r * LANES)));
        }
    }
}

KERNEL_ATTR static size_t KERNEL_NAME(rt_resampler *rs, size_t cnt, unsigned char *out, size_t k,
                                      int out_kind, uint64_t limit)
{
    const int K = rs->K, L = rs->L, M = rs->M;
    const uint64_t D = (uint64_t)rs->D;
    const int64_t base = (int64_t)rs->n_in - (K - 1); /* absolute index of rs->buf[0] */
    const size_t len = (size_t)(K - 1) + cnt;         /* valid floats in rs->buf */
    const uint64_t run = (uint64_t)LANES * (uint64_t)L;
    uint64_t kk = rs->k_out, kend = outputs_ready(rs, rs->n_in + cnt);
    size_t stride = 0;
    int nb;

    if (kend > limit)
        kend = limit;
    if (LANES > 1 && M > 1 && kend >= kk + run) {
        size_t r, t;
        stride = (len + (size_t)M - 1) / (size_t)M;
        for (r = 0; r < (size_t)M; r++)
            for (t = 0; r + t * (size_t)M < len; t++)
                rs->xs[r * stride + t] = rs->buf[r + t * (size_t)M];
    }
    for (nb = RT_NB; LANES > 1 && nb >= 1; nb = nb == RT_NB ? 1 : 0) {
        while (kend >= kk + (uint64_t)nb * run) {
            int c, i, r;
            for (c = 0; c < L; c++) {
                uint64_t m = (kk + (uint64_t)c) * (uint64_t)M + (uint64_t)D;
                int p = (int)(m % (uint64_t)L);
                int64_t s0 = (int64_t)(m / (uint64_t)L) - (K - 1) - base; /* lane 0, tap 0 */
                VEC acc[RT_NB];
                float lanes[LANES];
                if (nb == RT_NB)
                    CLASS_FN(rs, p, s0, stride, RT_NB, acc);
                else
                    CLASS_FN(rs, p, s0, stride, 1, acc);
                if (L == 1 && out_kind == OUT_PCM16) { /* lanes are consecutive outputs */
                    for (r = 0; r < nb; r++)
                        VSTORE16(out + 2 * (k + (size_t)(r * LANES)), acc[r]);
                    continue;
                }
                for (r = 0; r < nb; r++) {
                    VSTORE(lanes, acc[r]);
                    for (i = 0; i < LANES; i++)
                        emit(out, k + (size_t)((r * LANES + i) * L + c), lanes[i], out_kind);
                }
            }
            k += (size_t)((uint64_t)nb * run);
            kk += (uint64_t)nb * run;
        }
    }
    for (; kk < kend; kk++) {
        uint64_t m = kk * (uint64_t)M + (uint64_t)D;
        int p = (int)(m % (uint64_t)L);
        int64_t s0 = (int64_t)(m / (uint64_t)L) - (K - 1) - base;
        emit(out, k++, dot_scalar(rs, p, rs->buf + s0), out_kind);
    }
    rs->k_out = kk;
    rs->n_in += cnt;
    memmove(rs->buf, rs->buf + cnt, (size_t)(K - 1) * sizeof(float));
    return k;
}

/* The per-output kernel: each output vectorised over its taps (see dot_taps_scalar), TAP_BATCH
 * outputs at a time so that their sums are finished together and their adds overlap. */
KERNEL_ATTR static size_t TAP_NAME(rt_resampler *rs, size_t cnt, unsigned char *out, size_t k,
                                   int out_kind, uint64_t limit)
{
    const int K = rs->K, L = rs->L, M = rs->M;
    const uint64_t D = (uint64_t)rs->D;
    const int64_t base = (int64_t)rs->n_in - (K - 1); /* absolute index of rs->buf[0] */
    uint64_t kk = rs->k_out, kend = outputs_ready(rs, rs->n_in + cnt);

    if (kend > limit)
        kend = limit;
    if (kk < kend) {
        /* m = kk*M + D = n*L + p, stepped by M per output without dividing */
        const uint64_t m = kk * (uint64_t)M + D;
        const int dn = M / L, dp = M % L;
        int p = (int)(m % (uint64_t)L), i, n;
        int64_t s0 = (int64_t)(m / (uint64_t)L) - (K - 1) - base;
        const float *h[TAP_BATCH] = {NULL}, *x[TAP_BATCH] = {NULL};
        float y[TAP_BATCH];
        while (kk < kend) {
            n = kend - kk < TAP_BATCH ? (int)(kend - kk) : TAP_BATCH;
            for (i = 0; i < n; i++) {
                h[i] = rs->coef + (size_t)p * (size_t)K;
                x[i] = rs->buf + s0;
                s0 += dn;
                p += dp;
                if (p >= L) {
                    p -= L;
                    s0++;
                }
            }
            for (; i < TAP_BATCH; i++) { /* spare lanes redo output 0; results unused */
                h[i] = h[0];
                x[i] = x[0];
            }
            TAP_DOT(h, x, K, y);
            for (i = 0; i < n; i++)
                emit(out, k++, y[i], out_kind);
            kk += (uint64_t)n;
        }
    }
    rs->k_out = kk;
    rs->n_in += cnt;
    memmove(rs->buf, rs->buf + cnt, (size_t)(K - 1) * sizeof(float));
    return k;
}

#undef CLASS_FN
