// The speaker side of the page: an AudioWorklet that plays the agent's PCM16 (24 kHz) and
// says how much of each item it has really played.
//
// The page posts {type: "audio", item_id, content_index, pcm} for each binary frame; chunks are
// played in order.  The worklet counts, per item, the source samples it has handed to the
// audio output and posts {type: "position", item_id, content_index, played_ms} every 50 ms
// while playing and when an item ends; {type: "idle"} once its queue has run dry.  The page
// forwards these to the server (session.playback_progress / playback_finished).
//
// {type: "flush", id} drops everything queued at once and answers {type: "flushed", id,
// position}: the exact position at which playback stopped (the page reports it before it
// asks the server to interrupt, so the truncation is where the listener stopped hearing).

const SOURCE_RATE = 24000;

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = []; // {item_id, content_index, samples: Float32Array}
    this.offset = 0; // read position in queue[0].samples (fractional when resampling)
    this.step = SOURCE_RATE / sampleRate; // source samples per output sample
    this.current = null; // {item_id, content_index, played (source samples)}
    this.reportEvery = Math.round(sampleRate * 0.05);
    this.sinceReport = 0;
    this.idle = true;
    this.port.onmessage = (event) => this.onMessage(event.data);
  }

  onMessage(message) {
    if (message.type === "audio") {
      const pcm = new Int16Array(message.pcm);
      if (!pcm.length) return;
      const samples = new Float32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i] / 32768;
      this.queue.push({
        item_id: message.item_id,
        content_index: message.content_index,
        samples,
      });
    } else if (message.type === "flush") {
      const position = this.position();
      this.queue = [];
      this.offset = 0;
      this.current = null;
      this.idle = true; // flushed, not drained: no "idle" report
      this.port.postMessage({ type: "flushed", id: message.id, position });
    }
  }

  position() {
    const c = this.current;
    if (!c) return null;
    return {
      item_id: c.item_id,
      content_index: c.content_index,
      played_ms: (c.played * 1000) / SOURCE_RATE,
    };
  }

  report() {
    const position = this.position();
    if (position) this.port.postMessage({ type: "position", ...position });
    this.sinceReport = 0;
  }

  process(inputs, outputs) {
    const channels = outputs[0];
    const out = channels[0];
    let i = 0;
    while (i < out.length && this.queue.length) {
      const chunk = this.queue[0];
      const c = this.current;
      if (!c || c.item_id !== chunk.item_id || c.content_index !== chunk.content_index) {
        if (c) this.report(); // the previous item's last position
        this.current = { item_id: chunk.item_id, content_index: chunk.content_index, played: 0 };
      }
      const samples = chunk.samples;
      if (this.step === 1) {
        const n = Math.min(out.length - i, samples.length - this.offset);
        out.set(samples.subarray(this.offset, this.offset + n), i);
        i += n;
        this.offset += n;
        this.current.played += n;
      } else {
        const k = Math.floor(this.offset);
        const f = this.offset - k;
        const a = samples[k];
        const b = k + 1 < samples.length ? samples[k + 1] : a;
        out[i++] = a + (b - a) * f;
        this.offset += this.step;
        this.current.played += this.step;
      }
      if (this.offset >= samples.length) {
        this.offset -= samples.length;
        this.queue.shift();
      }
    }
    for (let ch = 1; ch < channels.length; ch++) channels[ch].set(out);
    if (i > 0) {
      this.idle = false;
      this.sinceReport += i;
      if (this.sinceReport >= this.reportEvery) this.report();
    }
    if (!this.queue.length && !this.idle) {
      this.report();
      this.idle = true;
      this.port.postMessage({ type: "idle" });
    }
    return true;
  }
}

registerProcessor("rtagents-playback", PlaybackProcessor);
