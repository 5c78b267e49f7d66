// The web page: voices, speak (streamed, words lit as spoken), dialog and document, over the server's own job API.
"use strict";

const $ = (sel) => document.querySelector(sel);
const KEY = "tts-worker-key";   // sessionStorage: asked once, kept for this tab
let voices = [], info = null;

// ---- talking to the server ------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(code, message, hint) {
    super(code ? `${code}: ${message}` + (hint ? ` (${hint})` : "") : message);
    this.code = code;
  }
}

function askKey() {
  return new Promise((resolve) => {
    const dialog = $("#key-dialog");
    $("#key-input").value = "";
    dialog.addEventListener("close", () => {
      sessionStorage.setItem(KEY, $("#key-input").value.trim());
      resolve();
    }, { once: true });
    dialog.showModal();
  });
}

// Every error shape the server answers: a job's error JSON string {code, message, hint}, RunPod's
// {"error": "text"}, OpenAI's {"error": {"message", "code"}}, FastAPI's {"detail": ...}.
function toError(body, status) {
  let error = body && (body.error ?? body.detail);
  if (typeof error === "string") {
    try { error = JSON.parse(error); } catch { /* plain text */ }
  }
  if (error && typeof error === "object" && !Array.isArray(error)) {
    return new ApiError(error.code, error.message || JSON.stringify(error), error.hint);
  }
  return new ApiError(status ? `HTTP ${status}` : "", typeof error === "string" ? error : JSON.stringify(body));
}

async function api(path, body, method) {
  for (;;) {
    const headers = body === undefined ? {} : { "Content-Type": "application/json" };
    const key = sessionStorage.getItem(KEY);
    if (key) headers.Authorization = `Bearer ${key}`;
    const response = await fetch(path, { method: method || (body === undefined ? "GET" : "POST"), headers,
                                          body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 401) { await askKey(); continue; }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw toError(data, response.status);
    return data;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const single = (output) => (Array.isArray(output) ? output[output.length - 1] : output);

// A job through /run, polled on /status; `onProgress` sees IN_PROGRESS updates; resolves with the output.
async function runJob(input, onProgress, started) {
  const { id } = await api("/run", { input });
  if (started) started(id);
  for (let wait = 150; ; wait = Math.min(wait * 1.5, 1000)) {
    const job = await api(`/status/${id}`);
    if (job.status === "COMPLETED") return single(job.output);
    if (job.status === "FAILED") throw toError(job);
    if (job.status === "CANCELLED" || job.status === "TIMED_OUT") throw new ApiError(job.status.toLowerCase(), `the job was ${job.status.toLowerCase().replace("_", " ")}`);
    if (job.status === "IN_PROGRESS" && job.output && onProgress) onProgress(job.output);
    await sleep(wait);
  }
}

function say(where, text, kind) {
  const el = $(where);
  el.textContent = text || "";
  el.className = `msg ${kind || ""}`;
}
const failed = (where) => (error) => say(where, error.message, "error");

function base64Bytes(text) {
  const raw = atob(text), bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function fileBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(",") + 1));
    reader.onerror = () => reject(new ApiError("", "could not read the file"));
    reader.readAsDataURL(blob);
  });
}

const TYPES = { mp3: "audio/mpeg", opus: "audio/ogg", aac: "audio/aac", flac: "audio/flac", wav: "audio/wav", pcm: "audio/L16" };
const audioBlob = (result) => new Blob([base64Bytes(result.audio_base64)], { type: TYPES[result.format] });

function showAudio(result, audio, link, name) {
  const url = result.audio_url || URL.createObjectURL(audioBlob(result));
  audio.src = url;
  link.href = url;
  link.download = `${name}.${result.format === "opus" ? "ogg" : result.format}`;
  link.classList.remove("hidden");
}

// ---- captions from the sentence times (the text as written) -----------------------------------------------------
function stamp(seconds, comma) {
  const ms = Math.round(seconds * 1000), h = Math.floor(ms / 3600000), m = Math.floor(ms / 60000) % 60;
  const s = Math.floor(ms / 1000) % 60, pad = (n, w) => String(n).padStart(w || 2, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}${comma ? "," : "."}${pad(ms % 1000, 3)}`;
}
function captions(sentences, kind) {
  const cues = sentences.map((s, i) => `${kind === "srt" ? `${i + 1}\n` : ""}${stamp(s.start_s, kind === "srt")} --> ${stamp(s.end_s, kind === "srt")}\n${s.text}\n`);
  return (kind === "vtt" ? "WEBVTT\n\n" : "") + cues.join("\n");
}

// ---- voices ---------------------------------------------------------------------------------------------------
async function loadVoices() {
  const result = await runJob({ action: "voices.list" });
  voices = result.voices;
  showVoices();
  const usable = voices.filter((v) => v.usable);
  for (const select of document.querySelectorAll(".voice-select")) {
    const chosen = select.value;
    select.replaceChildren(...usable.map((v) => new Option(`${v.name} (${v.language || "?"})`, v.id)));
    if (usable.some((v) => v.id === chosen)) select.value = chosen;
    else if (info && usable.some((v) => v.id === info.default_voice)) select.value = info.default_voice;
  }
  $("#blend-sliders").replaceChildren(...usable.filter((v) => v.source === "stock").map((v) => {
    const label = document.createElement("label");
    label.innerHTML = `<span></span> <input type="range" min="0" max="100" value="0" data-voice=""> <output>0</output>`;
    label.querySelector("span").textContent = v.name;
    const slider = label.querySelector("input");
    slider.dataset.voice = v.id;
    slider.oninput = () => { label.querySelector("output").textContent = slider.value; };
    return label;
  }));
}

function showVoices() {
  const query = $("#voice-search").value.trim().toLowerCase();
  const rows = voices.filter((v) => !query || [v.name, v.id, v.language, v.gender, ...(v.tags || [])]
    .some((f) => (f || "").toLowerCase().includes(query)));
  $("#voice-table tbody").replaceChildren(...rows.map((v) => {
    const tr = document.createElement("tr");
    tr.dataset.voice = v.id;
    const cells = [v.name, v.id, v.language || "", v.gender || "", (v.tags || []).join(", "), v.source || "", v.usable ? "yes" : "no"];
    const play = document.createElement("button");
    play.textContent = "▶";
    play.title = `Preview ${v.name}`;
    play.className = "preview";
    play.disabled = !v.usable;
    play.onclick = () => preview(v).catch(failed("#voices-msg"));
    tr.append(cell(play), ...cells.map((text) => cell(text)));
    if (v.source !== "stock") {
      const del = document.createElement("button");
      del.textContent = "Delete";
      del.className = "delete";
      del.onclick = () => removeVoice(v).catch(failed("#voices-msg"));
      tr.append(cell(del));
    } else tr.append(cell(""));
    return tr;
  }));
}

function cell(content) {
  const td = document.createElement("td");
  td.append(content);
  return td;
}

async function preview(voice) {
  say("#voices-msg", `Previewing ${voice.name}…`);
  const result = await runJob({ text: `Hello, I am ${voice.name}. This is how I sound.`, voice: voice.id, format: "mp3", output: "base64" });
  const audio = $("#preview");
  audio.src = URL.createObjectURL(audioBlob(result));
  await audio.play();
  say("#voices-msg", `Playing ${voice.name} (${result.duration_s} s)`, "ok");
}

async function removeVoice(voice) {
  if (!confirm(`Delete the voice "${voice.name}" from the library? Every worker sharing the library loses it.`)) return;
  await runJob({ action: "voices.delete", voice: voice.id });
  say("#voices-msg", `Deleted ${voice.name}`, "ok");
  await loadVoices();
}

let recorded = null;   // a microphone recording, as a WAV blob
async function toggleRecording() {
  const button = $("#record");
  if (button.recorder) { button.recorder.stop(); return; }
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const recorder = new MediaRecorder(stream), parts = [];
  recorder.ondataavailable = (e) => parts.push(e.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((t) => t.stop());
    button.recorder = null;
    button.textContent = "Record";
    const context = new AudioContext();
    const decoded = await context.decodeAudioData(await new Blob(parts).arrayBuffer());
    recorded = wavBlob([decoded.getChannelData(0)], decoded.sampleRate);
    $("#record-state").textContent = `recorded ${decoded.duration.toFixed(1)} s`;
  };
  recorder.start();
  button.recorder = recorder;
  button.textContent = "Stop recording";
  $("#record-state").textContent = "recording…";
}

async function createVoice(event) {
  event.preventDefault();
  const form = event.target, data = new FormData(form);
  const input = { action: "voices.create", name: data.get("name").trim(), language: data.get("language").trim() || "en" };
  if (data.get("gender")) input.gender = data.get("gender");
  if (data.get("source") === "blend") {
    input.blend = {};
    for (const slider of document.querySelectorAll("#blend-sliders input")) {
      if (Number(slider.value) > 0) input.blend[slider.dataset.voice] = Number(slider.value);
    }
  } else {
    const clip = form.clip.files[0] || recorded;
    if (!clip) { say("#create-msg", "choose an audio file or record one first", "error"); return; }
    input.audio_base64 = await fileBase64(clip);
    if (data.get("transcript").trim()) input.transcript = data.get("transcript").trim();
    input.fit = Boolean(data.get("fit"));    // the page asks: unticked stores the clip only (a fit takes a while)
  }
  say("#create-msg", "Creating…");
  const result = await runJob(input);
  say("#create-msg", `Created ${result.voice.name} (${result.voice.id})` + (result.voice.note ? ` — ${result.voice.note}` : ""), "ok");
  form.reset();
  recorded = null;
  $("#record-state").textContent = "";
  await loadVoices();
}

// ---- speak: streamed through /run + /stream, played through Media Source Extensions as chunks arrive ------------
function speakInput(stream) {
  const input = { text: $("#speak-text").value, voice: $("#speak-blend").value.trim() || $("#speak-voice").value,
                  speed: Number($("#speak-speed").value) || 1 };
  if ($("#speak-seed").value !== "") input.seed = Number($("#speak-seed").value);
  const language = $("#speak-language").value;   // a backend parameter where the backend takes it so, else a field
  if (language && info.params_schema.properties && info.params_schema.properties.language) input.params = { language };
  else if (language) input.language = language;
  if (stream) Object.assign(input, { stream: true, timestamps: "word" });
  return input;
}

function addWords(words, offset) {
  const box = $("#speak-words");
  for (const w of words) {
    const span = document.createElement("span");
    span.textContent = w.word;
    span.dataset.start = w.start_s + offset;
    span.dataset.end = w.end_s + offset;
    box.append(span, " ");
  }
}

function highlight() {
  const t = $("#speak-audio").currentTime;
  for (const span of $("#speak-words").children) {
    const on = t >= Number(span.dataset.start) && t < Number(span.dataset.end);
    span.classList.toggle("now", on);
    span.classList.toggle("said", t >= Number(span.dataset.end));
  }
  if (!$("#speak-audio").paused) requestAnimationFrame(highlight);
}

async function speak() {
  const format = $("#speak-format").value, streamed = format === "mp3" || format === "aac";
  const audio = $("#speak-audio");
  for (const id of ["#speak-download", "#speak-srt", "#speak-vtt"]) $(id).classList.add("hidden");
  $("#speak-words").replaceChildren();
  say("#speak-msg", "Synthesizing…");
  let summary;
  try {
    summary = streamed ? await speakStreamed(format, audio) : await speakWhole(format, audio);
  } catch (error) {   // a worker with STREAMING=0 refuses stream: true; the whole answer then plays at the end
    if (!streamed || !String(error.message).includes("STREAMING=0")) throw error;
    summary = await speakWhole(format, audio);
  }
  for (const [id, kind] of [["#speak-srt", "srt"], ["#speak-vtt", "vtt"]]) {
    $(id).href = URL.createObjectURL(new Blob([captions(summary.sentences, kind)], { type: "text/plain" }));
    $(id).classList.remove("hidden");
  }
  say("#speak-msg", `${summary.duration_s} s of audio, ${summary.sentences.length} sentence(s), voice ${summary.voice}` +
      (summary.timings_ms && summary.timings_ms.first_chunk ? `; first audio after ${Math.round(summary.timings_ms.first_chunk)} ms` : ""), "ok");
}

async function speakWhole(format, audio) {
  const result = await runJob({ ...speakInput(false), format, timestamps: "word", output: "base64" });
  showAudio(result, audio, $("#speak-download"), "speech");
  addWords(result.words || [], 0);
  await audio.play().catch(() => {});
  return result;
}

async function speakStreamed(format, audio) {
  const media = new MediaSource(), kept = [];
  audio.src = URL.createObjectURL(media);
  await new Promise((r) => media.addEventListener("sourceopen", r, { once: true }));
  const buffer = media.addSourceBuffer(TYPES[format]);
  buffer.mode = "sequence";
  const appended = () => new Promise((r) => buffer.addEventListener("updateend", r, { once: true }));
  const { id } = await api("/run", { input: { ...speakInput(true), format } });
  let summary = null;
  try {
    while (!summary) {
      const polled = await api(`/stream/${id}`);
      for (const { output } of polled.stream) {
        if (output.done) { summary = output; continue; }
        const bytes = base64Bytes(output.audio_base64);
        const offset = buffer.buffered.length ? buffer.buffered.end(0) : 0;   // where this chunk starts playing
        kept.push(bytes);
        buffer.appendBuffer(bytes);
        await appended();
        addWords(output.words || [], offset);
        if (audio.paused && output.chunk_index === 0) audio.play().catch(() => {});
      }
      if (polled.status === "FAILED") throw toError(polled);
      if (!summary && polled.status !== "IN_QUEUE" && polled.status !== "IN_PROGRESS" && !polled.stream.length) {
        throw new ApiError(polled.status.toLowerCase(), `the job ended ${polled.status.toLowerCase()} without its summary`);
      }
      if (!summary) await sleep(200);
    }
  } finally {
    if (media.readyState === "open") media.endOfStream();
  }
  const link = $("#speak-download");
  link.href = URL.createObjectURL(new Blob(kept, { type: TYPES[format] }));
  link.download = `speech.${format}`;
  link.classList.remove("hidden");
  return summary;
}

// ---- dialog -----------------------------------------------------------------------------------------------------
function addLine(text, voice) {
  const row = document.createElement("div");
  row.className = "row line";
  const select = document.createElement("select");
  select.className = "voice-select";
  select.append(...voices.filter((v) => v.usable).map((v) => new Option(v.name, v.id)));
  if (voice) select.value = voice;
  const input = document.createElement("input");
  input.className = "line-text";
  input.value = text || "";
  input.placeholder = "What this voice says";
  const remove = document.createElement("button");
  remove.textContent = "✕";
  remove.title = "Remove this line";
  remove.onclick = () => row.remove();
  row.append(select, input, remove);
  $("#dialog-lines").append(row);
}

async function renderDialog() {
  const segments = [...document.querySelectorAll("#dialog-lines .line")]
    .map((row) => ({ voice: row.querySelector("select").value, text: row.querySelector("input").value.trim() }))
    .filter((s) => s.text);
  if (!segments.length) { say("#dialog-msg", "write at least one line", "error"); return; }
  say("#dialog-msg", "Rendering…");
  const result = await runJob({ segments, gap_s: Number($("#dialog-gap").value) || 0, format: $("#dialog-format").value, output: "base64" });
  showAudio(result, $("#dialog-audio"), $("#dialog-download"), "dialog");
  $("#dialog-turns").replaceChildren(...(result.segments || []).map((s) => {
    const li = document.createElement("li");
    li.textContent = `${s.voice}: ${s.start_s.toFixed(2)}–${s.end_s.toFixed(2)} s`;
    return li;
  }));
  say("#dialog-msg", `${result.duration_s} s, ${segments.length} line(s) in one file`, "ok");
}

// ---- document: Markdown headings become chapters; each part is a job; the audio is joined here ------------------
function plainText(markdown) {
  return markdown
    .replace(/```[\s\S]*?```/g, " ")
    .replace(/!\[[^\]]*\]\([^)]*\)/g, " ")
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/^\s{0,3}(?:[-*+]|\d+[.)])\s+/gm, "")
    .replace(/^\s{0,3}>\s?/gm, "")
    .replace(/[*_`~]+/g, "")
    .replace(/^\s*[-=]{3,}\s*$/gm, "")
    .trim();
}

function chapters(text) {
  const found = [];
  let current = { title: "Opening", body: [] };
  for (const line of text.split(/\r?\n/)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      if (current.body.join("").trim() || found.length) found.push(current);
      current = { title: plainText(heading[1]), body: [] };
    } else current.body.push(line);
  }
  found.push(current);
  return found.map((c) => ({ title: c.title, text: plainText(c.body.join("\n")) }))
    .filter((c) => c.text || c.title)
    .map((c) => ({ title: c.title, text: c.text ? `${c.title}.\n\n${c.text}` : c.title }));
}

function parts(text, limit) {   // paragraphs packed into parts under the worker's text limit
  const out = [];
  let part = "";
  for (const paragraph of text.split(/\n\s*\n/)) {
    for (let piece = paragraph; piece; piece = piece.slice(limit)) {
      const head = piece.slice(0, limit);
      if (part && part.length + head.length + 2 > limit) { out.push(part); part = ""; }
      part = part ? `${part}\n\n${head}` : head;
    }
  }
  if (part.trim()) out.push(part);
  return out;
}

function wavSamples(bytes) {   // a WAV file's 16-bit samples and rate (soundfile writes PCM_16)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let rate = 24000;
  for (let at = 12; at + 8 <= bytes.length;) {
    const id = String.fromCharCode(...bytes.subarray(at, at + 4)), size = view.getUint32(at + 4, true);
    if (id === "fmt ") rate = view.getUint32(at + 12, true);
    if (id === "data") return { rate, pcm: bytes.subarray(at + 8, at + 8 + Math.min(size, bytes.length - at - 8)) };
    at += 8 + size + (size % 2);
  }
  throw new ApiError("audio_invalid", "a part came back without WAV data");
}

function wavBlob(channels, rate) {   // float samples -> 16-bit mono WAV
  const samples = channels[0], data = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (at, s) => [...s].forEach((c, i) => data.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); data.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVEfmt ");
  data.setUint32(16, 16, true); data.setUint16(20, 1, true); data.setUint16(22, 1, true);
  data.setUint32(24, rate, true); data.setUint32(28, rate * 2, true); data.setUint16(32, 2, true);
  data.setUint16(34, 16, true); text(36, "data"); data.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => data.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 32767, true));
  return new Blob([data], { type: "audio/wav" });
}

function joinedWav(parts) {
  const { rate } = wavSamples(parts[0]), pcm = parts.map((p) => wavSamples(p).pcm);
  const total = pcm.reduce((n, p) => n + p.length, 0), header = new DataView(new ArrayBuffer(44));
  const text = (at, s) => [...s].forEach((c, i) => header.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF"); header.setUint32(4, 36 + total, true); text(8, "WAVEfmt ");
  header.setUint32(16, 16, true); header.setUint16(20, 1, true); header.setUint16(22, 1, true);
  header.setUint32(24, rate, true); header.setUint32(28, rate * 2, true); header.setUint16(32, 2, true);
  header.setUint16(34, 16, true); text(36, "data"); header.setUint32(40, total, true);
  return new Blob([header, ...pcm], { type: "audio/wav" });
}

let docJobs = null;   // ids of the running document's jobs (Stop cancels them)
async function renderDocument() {
  const file = $("#doc-file").files[0];
  const text = file ? await file.text() : $("#doc-text").value;
  const limit = (info && info.limits && info.limits.max_text_chars) || 5000;
  const list = chapters(text).map((c) => ({ ...c, parts: parts(c.text, Math.min(limit, 4000)) }));
  const jobs = list.flatMap((c, chapter) => c.parts.map((t) => ({ chapter, text: t, done: 0 })));
  if (!jobs.length) { say("#doc-msg", "the document has no text", "error"); return; }
  const format = $("#doc-format").value, voice = $("#doc-voice").value;
  const bar = $("#doc-progress"), note = $("#doc-progress-text");
  const update = () => {
    const done = jobs.reduce((n, j) => n + j.done, 0);
    bar.value = done / jobs.length;
    note.textContent = `${Math.round(bar.value * 100)} % — ${jobs.filter((j) => j.done === 1).length} of ${jobs.length} part(s), ${list.length} chapter(s)`;
  };
  docJobs = [];
  $("#doc-stop").classList.remove("hidden");
  $("#doc-download").classList.add("hidden");
  update();
  say("#doc-msg", "Rendering…");
  try {
    const results = await Promise.all(jobs.map((job) => runJob({ text: job.text, voice, format, output: "base64" },
      (p) => { if (p.sentences) { job.done = 0.99 * p.sentences_done / p.sentences; update(); } },
      (id) => docJobs.push(id)).then((r) => { job.done = 1; update(); return r; })));
    const bytes = results.map((r) => base64Bytes(r.audio_base64));
    const blob = format === "wav" ? joinedWav(bytes) : new Blob(bytes, { type: TYPES[format] });
    let t = 0;
    const starts = list.map(() => null);
    results.forEach((r, i) => { if (starts[jobs[i].chapter] === null) starts[jobs[i].chapter] = t; t += r.duration_s; });
    const url = URL.createObjectURL(blob), audio = $("#doc-audio");
    audio.src = url;
    $("#doc-download").href = url;
    $("#doc-download").download = `${file ? file.name.replace(/\.[^.]*$/, "") : "document"}.${format}`;
    $("#doc-download").classList.remove("hidden");
    $("#doc-chapters").replaceChildren(...list.map((c, i) => {
      const li = document.createElement("li"), link = document.createElement("a");
      link.href = "#";
      link.textContent = `${c.title} — ${stamp(starts[i] || 0).slice(0, 8)}`;
      link.onclick = (e) => { e.preventDefault(); audio.currentTime = starts[i] || 0; audio.play(); };
      li.append(link);
      return li;
    }));
    say("#doc-msg", `${t.toFixed(1)} s of audio in ${list.length} chapter(s)`, "ok");
  } catch (error) {
    for (const id of docJobs) api(`/cancel/${id}`, {}).catch(() => {});
    throw error;
  } finally {
    docJobs = null;
    $("#doc-stop").classList.add("hidden");
  }
}

// ---- start ----------------------------------------------------------------------------------------------------
function showTab(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("on", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("on", s.id === name);
}

async function start() {
  for (const b of document.querySelectorAll("nav button")) b.onclick = () => showTab(b.dataset.tab);
  $("#voice-search").oninput = showVoices;
  $("#create-form").onsubmit = (e) => createVoice(e).catch(failed("#create-msg"));
  $("#record").onclick = () => toggleRecording().catch(failed("#create-msg"));
  $("#speak-play").onclick = () => speak().catch(failed("#speak-msg"));
  $("#speak-audio").onplay = () => requestAnimationFrame(highlight);
  $("#speak-audio").onseeked = highlight;
  $("#dialog-add").onclick = () => addLine();
  $("#dialog-render").onclick = () => renderDialog().catch(failed("#dialog-msg"));
  $("#doc-render").onclick = () => renderDocument().catch(failed("#doc-msg"));
  $("#doc-stop").onclick = () => { for (const id of docJobs || []) api(`/cancel/${id}`, {}).catch(() => {}); };
  try {
    info = await runJob({ action: "info" });
    $("#about").textContent = `${info.backend} · ${info.model} · ${info.voice_count} voices`;
    for (const id of ["#speak-format", "#dialog-format"]) {
      $(id).replaceChildren(...info.formats.map((f) => new Option(f, f)));
      $(id).value = "mp3";
    }
    const languages = info.capabilities.languages || [];
    $("#speak-language").append(...languages.map((l) => new Option(l, l)));
    $("#speak-language").parentElement.classList.toggle("hidden", languages.length < 2);   // one language: no choice
    await loadVoices();
    const [a, b] = voices.filter((v) => v.usable);
    addLine("Hi! Did you hear the news?", a && a.id);
    addLine("I did. It sounds wonderful.", (b || a) && (b || a).id);
  } catch (error) {
    say("#voices-msg", error.message, "error");
  }
}

start();
