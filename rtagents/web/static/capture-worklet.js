// The microphone side of the page: an AudioWorklet that turns the input into 20 ms frames of
// PCM16 mono at 24 kHz and posts each to the page (which sends it as a binary WebSocket frame).
//
// The page's AudioContext runs at 24 kHz, so the browser has already resampled the microphone
// and this worklet only converts and frames.  If the browser gave the context another rate,
// the worklet resamples by linear interpolation (no low-pass: good enough for speech).

const TARGET_RATE = 24000;
const FRAME = 480; // 20 ms at 24 kHz

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.pos = 0; // read position in [previous last sample, ...this block]
    this.prev = 0;
    this.frame = new Int16Array(FRAME);
    this.n = 0;
  }

  push(x) {
    const s = x < -1 ? -1 : x > 1 ? 1 : x;
    this.frame[this.n++] = s < 0 ? s * 0x8000 : s * 0x7fff;
    if (this.n === FRAME) {
      const buffer = this.frame.buffer;
      this.port.postMessage(buffer, [buffer]);
      this.frame = new Int16Array(FRAME);
      this.n = 0;
    }
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    if (this.step === 1) {
      for (let i = 0; i < channel.length; i++) this.push(channel[i]);
      return true;
    }
    // v[0] is the previous block's last sample, v[k] = channel[k - 1].
    const length = channel.length;
    while (this.pos < length) {
      const i = Math.floor(this.pos);
      const f = this.pos - i;
      const a = i === 0 ? this.prev : channel[i - 1];
      const b = channel[i];
      this.push(a + (b - a) * f);
      this.pos += this.step;
    }
    this.pos -= length;
    this.prev = channel[length - 1];
    return true;
  }
}

registerProcessor("rtagents-capture", CaptureProcessor);
