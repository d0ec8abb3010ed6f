// The page of `framescribe serve` (GET /): start a summaries job from a URL, a path or an
// uploaded file, poll its progress, show its events, summary and HTML report. Everything shown
// is set as text (textContent), never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let file = null;
  let jobId = null;
  let timer = null;

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const key = $("api-key").value.trim();
    if (key) h["Authorization"] = "Bearer " + key;
    return h;
  }

  async function call(method, path, body, type) {
    const opts = { method: method, headers: headers(type ? { "Content-Type": type } : {}) };
    if (body !== undefined) opts.body = body;
    const res = await fetch(path, opts);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const msg = data && data.error ? (data.error.message || data.error) : res.status + " " + res.statusText;
      throw new Error(String(msg));
    }
    return data;
  }

  function showError(e) { $("error").textContent = e && e.message ? e.message : String(e); }

  function fmt(s) {
    const m = Math.floor(s / 60), r = s - m * 60;
    return String(m).padStart(2, "0") + ":" + r.toFixed(1).padStart(4, "0");
  }

  function setFile(f) {
    file = f;
    $("file-name").textContent = f ? f.name + " (" + Math.round(f.size / 1024) + " KiB)" : "";
  }

  function render(job) {
    $("job").hidden = false;
    $("job-id").textContent = job.id;
    $("status").textContent = job.status;
    $("status").dataset.status = job.status;
    const p = job.progress || {};
    $("bar").value = typeof p.percent === "number" ? p.percent : 0;
    let text = (p.frames || 0) + " frames, " + (p.windows_done || 0) + " windows done";
    if (p.windows_total !== null && p.windows_total !== undefined) text += " of " + p.windows_total;
    if (typeof p.media_end_s === "number") text += ", " + fmt(p.media_done_s || 0) + " / " + fmt(p.media_end_s);
    if (p.summarizing) text += ", summarising";
    $("progress-text").textContent = text;
    $("error").textContent = job.error || "";
    $("cancel").hidden = !(job.status === "queued" || job.status === "running");
    if (job.events) showResult(job);
  }

  function showResult(job) {
    $("result").hidden = false;
    $("summary").textContent = job.summary || "(no summary)";
    const list = $("events");
    list.replaceChildren();
    for (const e of job.events) {
      const li = document.createElement("li");
      const t = document.createElement("span");
      t.className = "t";
      t.textContent = "[" + fmt(e.start) + " - " + fmt(e.end) + "]";
      li.append(t, document.createTextNode(e.text));
      list.append(li);
    }
    const files = $("files");
    files.replaceChildren();
    for (const [kind, url] of Object.entries(job.files || {})) {
      const a = document.createElement("a");
      a.href = url;
      a.textContent = kind.toUpperCase();
      a.target = "_blank";
      a.rel = "noopener";
      files.append(a);
    }
    const html = job.files && job.files.html;
    if (html && $("report").getAttribute("src") !== html) $("report").setAttribute("src", html);
  }

  async function poll() {
    if (!jobId) return;
    try {
      const job = await call("GET", "/v1/videos/summaries/" + encodeURIComponent(jobId));
      render(job);
      if (job.status === "queued" || job.status === "running") timer = setTimeout(poll, 1000);
    } catch (e) {
      showError(e);
    }
  }

  async function start(ev) {
    ev.preventDefault();
    $("error").textContent = "";
    $("result").hidden = true;
    $("report").removeAttribute("src");
    $("go").disabled = true;
    try {
      let source = $("source").value.trim();
      if (file) {
        $("job").hidden = false;
        $("status").textContent = "uploading";
        const up = await call("POST", "/v1/videos/uploads?name=" + encodeURIComponent(file.name), file, "application/octet-stream");
        source = up.source;
      }
      if (!source) throw new Error("give a video URL or path, or choose a file");
      const req = { source: source, sampling: {}, packing: {}, prompts: {} };
      const fps = parseFloat($("fps").value);
      if (fps > 0) req.sampling.fps = fps;
      const win = parseFloat($("window").value);
      if (win > 0) req.packing.window_seconds = win;
      const ins = $("instruction").value.trim();
      if (ins) req.prompts.instruction = ins;
      const job = await call("POST", "/v1/videos/summaries", JSON.stringify(req), "application/json");
      jobId = job.id;
      clearTimeout(timer);
      render(job);
      timer = setTimeout(poll, 300);
    } catch (e) {
      showError(e);
    } finally {
      $("go").disabled = false;
    }
  }

  async function cancel() {
    if (!jobId) return;
    try { render(await call("DELETE", "/v1/videos/summaries/" + encodeURIComponent(jobId))); }
    catch (e) { showError(e); }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("job-form").addEventListener("submit", start);
    $("cancel").addEventListener("click", cancel);
    $("file").addEventListener("change", () => setFile($("file").files[0] || null));
    const drop = $("drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files.length) setFile(e.dataTransfer.files[0]);
    });
  });
})();
