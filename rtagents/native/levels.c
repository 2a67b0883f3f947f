/* Signal levels for the voice activity detectors: the mean square of each whole sub-frame of
 * PCM16, in one pass.  Exact: a 64-bit integer sum (a sample squared is below 2^30, so 2^33
 * samples fit), divided once. */
#include "resample.h"
#include "g711.h"

void rt_mean_squares_s16(const char *pcm, size_t n_sub, size_t sub_len, double *out)
{
    const unsigned char *p = (const unsigned char *)pcm;
    for (size_t i = 0; i < n_sub; i++) {
        int64_t acc = 0;
        for (size_t k = 0; k < sub_len; k++, p += 2) {
            int32_t s = read_s16(p);
            acc += (int64_t)(s * s);
        }
        out[i] = (double)acc / (double)sub_len;
    }
}
