// fer-edge live view: the video is the server's MJPEG stream in an <img>; faces, FPS and latency
// arrive as Server-Sent Events (/events), one JSON state per sent frame. Plain JS, no library:
// devices are often offline. The token, when one is needed, is in an HttpOnly cookie that the
// browser sends with every request here.
"use strict";

(() => {
  const HISTORY_S = 30; // the timeline's span
  const FORGET_S = 5; // a face not seen this long leaves the page
  const GAP_S = 1; // a longer gap in a track's history breaks its lines
  const $ = (id) => document.getElementById(id);
  const tracks = new Map(); // track id -> {el, history: [[t, scores]], lastSeen}
  let info = null;
  let states = 0;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(text, cls) {
    const s = $("status");
    s.textContent = text;
    s.className = "status " + cls;
  }

  const pct = (p) => Math.round(p * 100) + "%";
  const colour = (label) => (info && info.colours[label]) || "#50dc50";

  // The video starts once the page has loaded: an endless stream would otherwise keep the page
  // "loading" for good.
  function startVideo() {
    const img = $("video");
    img.addEventListener("load", () => {
      $("video-note").textContent = "";
      document.body.dataset.video = "live";
    });
    img.addEventListener("error", () => {
      $("video-note").textContent = "no video (too many viewers, or the run has ended)";
    });
    img.src = "stream.mjpg";
  }

  function buildStages() {
    const body = $("stages").tBodies[0];
    body.textContent = "";
    // the work per frame, its total, then (a --realtime file) the wait for the video's frame rate apart
    for (const stage of [...info.stages, "total", info.wait]) {
      const row = el("tr", stage === "total" ? "total" : stage === info.wait ? "wait" : "");
      row.dataset.stage = stage;
      row.append(el("td", "", stage === info.wait ? "waiting for the video's rate" : stage), el("td", "", "–"));
      body.append(row);
    }
  }

  function updateStages(stages) {
    let total = 0;
    for (const row of $("stages").tBodies[0].rows) {
      const stage = row.dataset.stage;
      let v = stages[stage];
      if (stage === "total") v = total || undefined;
      else if (v !== undefined && stage !== info.wait) total += v;
      row.hidden = v === undefined; // e.g. draw, when the run itself draws nothing (the server draws)
      row.cells[1].textContent = v === undefined ? "–" : v.toFixed(1);
    }
  }

  function newTrack(id) {
    const card = el("div", "face");
    card.dataset.track = id;
    const head = el("div", "face-head");
    head.append(el("span", "track dim", "#" + id), el("span", "label", ""), el("span", "score", ""));
    const bars = el("div", "bars");
    for (const label of info.labels) {
      const bar = el("div", "bar");
      const meter = el("span", "meter");
      const fill = el("span", "fill");
      fill.style.background = colour(label);
      meter.append(fill);
      bar.append(el("span", "name", label), meter, el("span", "value", ""));
      bars.append(bar);
    }
    const canvas = el("canvas", "timeline");
    canvas.title = "the last " + HISTORY_S + " s of each expression's score";
    card.append(head, bars, canvas);
    const track = { el: card, history: [], lastSeen: 0 };
    tracks.set(id, track);
    // in track order
    const after = [...tracks.keys()].filter((k) => k > id).sort((a, b) => a - b)[0];
    $("faces").insertBefore(card, after === undefined ? null : tracks.get(after).el);
    return track;
  }

  function updateTrack(track, face, t) {
    const card = track.el;
    card.classList.remove("gone");
    const label = card.querySelector(".label");
    label.textContent = face.label;
    label.style.color = colour(face.label);
    card.querySelector(".score").textContent = pct(face.score);
    const bars = card.querySelectorAll(".bar");
    const scores = info.labels.map((name) => face.scores[name]); // the JSONL record's {label: score}
    scores.forEach((p, i) => {
      bars[i].querySelector(".fill").style.width = pct(p);
      bars[i].querySelector(".value").textContent = pct(p);
    });
    track.history.push([t, scores]);
    track.lastSeen = t;
  }

  function drawTimeline(track, now) {
    const canvas = track.el.querySelector("canvas");
    const w = (canvas.width = canvas.clientWidth || 360);
    const h = (canvas.height = canvas.clientHeight || 90);
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const x = (t) => ((t - (now - HISTORY_S)) / HISTORY_S) * w;
    const y = (p) => 2 + (1 - p) * (h - 4);
    ctx.strokeStyle = "#2c3036"; // 25, 50 and 75%, and every 10 s
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const p of [0.25, 0.5, 0.75]) {
      ctx.moveTo(0, y(p));
      ctx.lineTo(w, y(p));
    }
    for (let s = 10; s < HISTORY_S; s += 10) {
      ctx.moveTo(x(now - s), 0);
      ctx.lineTo(x(now - s), h);
    }
    ctx.stroke();
    ctx.lineWidth = 1.5;
    info.labels.forEach((label, i) => {
      ctx.strokeStyle = colour(label);
      ctx.beginPath();
      let prev = null;
      for (const [t, scores] of track.history) {
        if (prev === null || t - prev > GAP_S) ctx.moveTo(x(t), y(scores[i]));
        else ctx.lineTo(x(t), y(scores[i]));
        prev = t;
      }
      ctx.stroke();
    });
  }

  function update(state) {
    states += 1;
    document.body.dataset.states = String(states);
    if (state.frame === undefined) return; // no frame yet
    $("fps").textContent = state.fps === null ? "–" : state.fps.toFixed(1);
    $("frame").textContent = String(state.frame);
    $("count").textContent = String(state.faces.length);
    $("viewers").textContent = String(state.viewers);
    updateStages(state.stages);
    const t = state.t;
    for (const face of state.faces) {
      updateTrack(tracks.get(face.track) || newTrack(face.track), face, t);
    }
    $("no-faces").hidden = state.faces.length > 0;
    for (const [id, track] of tracks) {
      if (track.lastSeen < t) track.el.classList.add("gone");
      if (t - track.lastSeen > FORGET_S) {
        track.el.remove();
        tracks.delete(id);
        continue;
      }
      while (track.history.length && track.history[0][0] < t - HISTORY_S) track.history.shift();
      drawTimeline(track, t);
    }
  }

  function connect() {
    const events = new EventSource("events");
    events.addEventListener("info", (e) => {
      info = JSON.parse(e.data);
      $("source").textContent = info.source;
      buildStages();
    });
    events.onmessage = (e) => {
      setStatus("live", "live");
      update(JSON.parse(e.data));
    };
    events.addEventListener("end", (e) => {
      update(JSON.parse(e.data));
      setStatus("run ended", "ended");
      events.close();
    });
    events.onerror = () => {
      // EventSource retries by itself; it gives up only on a refusal (401, 503).
      if (events.readyState === EventSource.CLOSED) setStatus("refused (token? too many viewers?)", "ended");
      else setStatus("reconnecting…", "lost");
    };
  }

  window.addEventListener("load", () => {
    connect();
    startVideo();
  });
})();
