// The page: microphone → WebSocket → your agent → WebSocket → speaker, with the transcript.
//
// Protocol (rtagents/web/protocol.py): binary frames are PCM16 mono 24 kHz both ways; text
// frames are JSON objects with a "type".  The AudioContext runs at 24 kHz (the browser
// resamples the microphone and the output); capture-worklet.js frames the microphone,
// playback-worklet.js plays agent audio and reports what it has really played, which is
// forwarded to the server ("playback" / "playback_idle") so that an interrupt truncates the
// answer where the listener stopped hearing it.  The WebSocket reconnects when it drops.

const RATE = 24000;
const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const ui = {
  start: $("start"), interrupt: $("interrupt"), image: $("image"), text: $("text"),
  send: $("send"), transcript: $("transcript"), state: $("state"),
  connection: $("connection"), agent: $("agent"),
};

// What the page did, for people debugging it and for automated tests.
const stats = {
  connects: 0, drops: 0, micFrames: 0, audioFrames: 0, reports: 0, lastReport: null,
  flushes: 0, errors: [],
};
window.rtagentsPage = stats;

let audio = null; // {context, capture, playback, stream}
let ws = null;
let running = false;
let ready = false;
let attempts = 0;
let reconnectTimer = null;
let audioKey = null; // "item_id/content_index" of the binary frames now arriving
let audioItem = null; // {item_id, content_index}
const stopped = new Set(); // keys of items interrupted: their late frames are dropped
let flushes = 0;
const pendingFlush = new Map();

// -- transcript ------------------------------------------------------------------------------

function scrollDown() {
  const main = ui.transcript.parentElement;
  main.scrollTop = main.scrollHeight;
}

function entry(role, key, who) {
  let el = key ? ui.transcript.querySelector(`[data-key="${CSS.escape(key)}"]`) : null;
  if (!el) {
    el = document.createElement("div");
    el.className = "entry";
    el.dataset.role = role;
    if (key) el.dataset.key = key;
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    const text = document.createElement("span");
    text.className = "text";
    el.append(label, text);
    ui.transcript.append(el);
  }
  return el;
}

function notice(text, isError = false) {
  const el = entry("notice", null, "");
  el.querySelector(".who").remove();
  el.querySelector(".text").textContent = text;
  if (isError) el.classList.add("error");
  scrollDown();
}

function showTranscript(m) {
  const el = entry(m.role, `item:${m.item_id}`, m.role === "user" ? "You" : "Agent");
  el.dataset.itemId = m.item_id;
  el.querySelector(".text").textContent = m.text;
  el.classList.toggle("live", !m.final);
  const cut = m.truncated_at_ms !== null && m.truncated_at_ms !== undefined;
  el.classList.toggle("cut", cut);
  if (cut) {
    el.dataset.truncatedAtMs = String(m.truncated_at_ms);
    el.querySelector(".text").dataset.cut = `cut off after ${(m.truncated_at_ms / 1000).toFixed(1)} s`;
  }
  scrollDown();
}

function toolEntry(m) {
  const el = entry("tool", `call:${m.call_id}`, "Tool");
  el.classList.add("tool");
  el.dataset.callId = m.call_id;
  const text = el.querySelector(".text");
  if (!text.querySelector("code")) {
    const code = document.createElement("code");
    code.className = "call";
    text.append(code);
  }
  text.querySelector("code").textContent = `${m.name}(${m.arguments})`;
  return el;
}

function showToolEnd(m) {
  const el = toolEntry(m);
  el.querySelector(".decision")?.remove();
  let result = el.querySelector(".result");
  if (!result) {
    result = document.createElement("div");
    result.className = "result";
    el.append(result);
  }
  result.textContent = `→ ${m.output}`;
  scrollDown();
}

function showApproval(m) {
  const el = toolEntry(m);
  el.dataset.approval = "pending";
  const row = document.createElement("div");
  row.className = "decision";
  for (const [label, type] of [["Approve", "approve"], ["Reject", "reject"]]) {
    const button = document.createElement("button");
    button.textContent = label;
    button.dataset.action = type;
    button.addEventListener("click", () => {
      send({ type, call_id: m.call_id });
      el.dataset.approval = type === "approve" ? "approved" : "rejected";
      row.querySelectorAll("button").forEach((b) => (b.disabled = true));
    });
    row.append(button);
  }
  el.append(row);
  scrollDown();
}

// -- audio -----------------------------------------------------------------------------------

async function startAudio() {
  let context;
  try {
    context = new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
  } catch {
    context = new AudioContext({ latencyHint: "interactive" }); // the worklets resample
  }
  await context.audioWorklet.addModule(new URL("capture-worklet.js", import.meta.url));
  await context.audioWorklet.addModule(new URL("playback-worklet.js", import.meta.url));
  const playback = new AudioWorkletNode(context, "rtagents-playback", {
    numberOfInputs: 0, outputChannelCount: [1],
  });
  playback.connect(context.destination);
  playback.port.onmessage = (event) => onPlayback(event.data);
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const capture = new AudioWorkletNode(context, "rtagents-capture");
  context.createMediaStreamSource(stream).connect(capture);
  const mute = context.createGain(); // keeps the capture node pulled by the graph, silently
  mute.gain.value = 0;
  capture.connect(mute).connect(context.destination);
  capture.port.onmessage = (event) => {
    if (ws && ws.readyState === WebSocket.OPEN && ready) {
      ws.send(event.data);
      stats.micFrames++;
    }
  };
  if (context.state !== "running") await context.resume();
  return { context, capture, playback, stream };
}

function onPlayback(m) {
  if (m.type === "position") {
    stats.reports++;
    stats.lastReport = { item_id: m.item_id, content_index: m.content_index, played_ms: m.played_ms };
    send({ type: "playback", ...stats.lastReport });
  } else if (m.type === "idle") {
    send({ type: "playback_idle" });
  } else if (m.type === "flushed") {
    pendingFlush.get(m.id)?.(m.position);
    pendingFlush.delete(m.id);
  }
}

// Stop playback at once; resolves to where it stopped ({item_id, content_index, played_ms}).
function flushPlayback() {
  if (!audio) return Promise.resolve(null);
  stats.flushes++;
  const id = ++flushes;
  return new Promise((resolve) => {
    pendingFlush.set(id, resolve);
    audio.playback.port.postMessage({ type: "flush", id });
  });
}

function onAgentAudio(data) {
  stats.audioFrames++;
  if (!audio || !audioItem || stopped.has(audioKey)) return;
  audio.playback.port.postMessage({ type: "audio", ...audioItem, pcm: data }, [data]);
}

async function interrupt() {
  if (audioKey) stopped.add(audioKey); // frames already on their way are not played
  const position = await flushPlayback();
  if (position) {
    stats.lastReport = position;
    send({ type: "playback", ...position }); // the exact point, before the interrupt
  }
  send({ type: "interrupt" });
}

// -- the socket ------------------------------------------------------------------------------

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function setConnection(state, text) {
  document.body.dataset.connection = state;
  ui.connection.textContent = text;
}

function setState(state) {
  document.body.dataset.state = state;
  ui.state.textContent = state.replace("_", " ");
}

function onMessage(m) {
  switch (m.type) {
    case "ready":
      ready = true;
      attempts = 0;
      ui.agent.textContent = m.agent;
      setConnection("connected", "connected");
      ui.interrupt.disabled = false;
      ui.send.disabled = false;
      break;
    case "state":
      setState(m.state);
      break;
    case "audio_start":
      audioItem = { item_id: m.item_id, content_index: m.content_index };
      audioKey = `${m.item_id}/${m.content_index}`;
      break;
    case "audio_interrupted":
      stopped.add(`${m.item_id}/${m.content_index}`);
      flushPlayback();
      break;
    case "transcript":
      showTranscript(m);
      break;
    case "tool_start":
      toolEntry(m);
      scrollDown();
      break;
    case "tool_end":
      showToolEnd(m);
      break;
    case "approval_required":
      showApproval(m);
      break;
    case "handoff":
      notice(`handed off from ${m.from_agent} to ${m.to_agent}`);
      ui.agent.textContent = m.to_agent;
      break;
    case "status":
      notice(m.message, m.link === "lost");
      break;
    case "error":
      stats.errors.push(m);
      notice(`error: ${m.message}`, true);
      break;
    default:
      break; // agent_start, agent_end and newer types
  }
}

function connect() {
  clearTimeout(reconnectTimer);
  const url = new URL("ws", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.search = "";
  setConnection(attempts ? "reconnecting" : "connecting", attempts ? "reconnecting…" : "connecting…");
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  ws = socket;
  socket.onopen = () => {
    stats.connects++;
    if (stats.connects > 1) notice("reconnected: a new conversation");
  };
  socket.onmessage = (event) => {
    if (typeof event.data === "string") onMessage(JSON.parse(event.data));
    else onAgentAudio(event.data);
  };
  socket.onclose = () => {
    if (ws !== socket) return;
    ready = false;
    ui.interrupt.disabled = true;
    ui.send.disabled = true;
    audioItem = audioKey = null;
    flushPlayback();
    setState("idle");
    if (!running) {
      setConnection("closed", "not connected");
      return;
    }
    stats.drops++;
    const delay = Math.min(5000, 500 * 2 ** attempts++);
    setConnection("reconnecting", `connection lost — reconnecting in ${(delay / 1000).toFixed(1)} s`);
    reconnectTimer = setTimeout(connect, delay);
  };
}

// -- controls --------------------------------------------------------------------------------

async function start() {
  if (running) return stop();
  ui.start.disabled = true;
  try {
    audio = audio || (await startAudio());
    if (audio.context.state !== "running") await audio.context.resume();
  } catch (error) {
    notice(`cannot start audio: ${error.message || error}`, true);
    ui.start.disabled = false;
    return;
  }
  running = true;
  ui.start.textContent = "Stop";
  ui.start.classList.remove("primary");
  ui.start.disabled = false;
  connect();
}

function stop() {
  running = false;
  ui.start.textContent = "Start";
  ui.start.classList.add("primary");
  clearTimeout(reconnectTimer);
  ws?.close(1000);
  audio?.context.suspend();
}

function sendImage(file) {
  if (!file || !file.type.startsWith("image/")) return;
  if (file.size > 5 * 1024 * 1024) {
    notice("that image is too large (5 MB at most)", true);
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const text = ui.text.value.trim();
    send({ type: "image", image_url: reader.result, text: text || null });
    ui.text.value = "";
  };
  reader.readAsDataURL(file);
}

function sendText() {
  const text = ui.text.value.trim();
  if (!text) return;
  send({ type: "text", text });
  ui.text.value = "";
}

ui.start.addEventListener("click", start);
ui.interrupt.addEventListener("click", interrupt);
ui.send.addEventListener("click", sendText);
ui.text.addEventListener("keydown", (event) => {
  if (event.key === "Enter") sendText();
});
ui.image.addEventListener("change", () => {
  sendImage(ui.image.files[0]);
  ui.image.value = "";
});
document.addEventListener("paste", (event) => {
  for (const item of event.clipboardData?.items || []) {
    if (item.kind === "file" && item.type.startsWith("image/")) {
      sendImage(item.getAsFile());
      event.preventDefault();
      return;
    }
  }
});

if (params.get("autostart") === "1") start();
