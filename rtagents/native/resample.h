/* Public C interface of the rtagents kernels.  The lines between the CDEF markers are also fed
 * to cffi's cdef() by _build.py, so keep them plain declarations. */
#ifndef RT_RESAMPLE_H
#define RT_RESAMPLE_H
#include <stddef.h>

/* CDEF-BEGIN */
typedef struct rt_resampler rt_resampler;

void rt_init(void);
void rt_ulaw_encode(const char *pcm, size_t n, unsigned char *out);
void rt_ulaw_decode(const char *ulaw, size_t n, unsigned char *out);
void rt_alaw_encode(const char *pcm, size_t n, unsigned char *out);
void rt_alaw_decode(const char *alaw, size_t n, unsigned char *out);

rt_resampler *rt_resampler_new(int in_rate, int out_rate);
void rt_resampler_free(rt_resampler *rs);
void rt_resampler_reset(rt_resampler *rs);
double rt_resampler_delay(const rt_resampler *rs);
size_t rt_resampler_max_out(const rt_resampler *rs, size_t n_in);
size_t rt_resampler_pending_out(const rt_resampler *rs);
size_t rt_resampler_process(rt_resampler *rs, const char *pcm, size_t n, unsigned char *out);
size_t rt_resampler_process_ulaw(rt_resampler *rs, const char *ulaw, size_t n, unsigned char *out);
size_t rt_resampler_process_to_ulaw(rt_resampler *rs, const char *pcm, size_t n,
                                    unsigned char *out);
size_t rt_resampler_flush(rt_resampler *rs, unsigned char *out);
size_t rt_resampler_flush_to_ulaw(rt_resampler *rs, unsigned char *out);
const char *rt_kernel_name(const rt_resampler *rs);

void rt_mean_squares_s16(const char *pcm, size_t n_sub, size_t sub_len, double *out);
/* CDEF-END */

#endif
