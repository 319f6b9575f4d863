// Switchboard remote control: the technician's viewer of a customer's screen.
// It builds the viewer inside <div id="remote">, connects through
// window.switchboardMedia.viewerConnection (media.js) to the data channel
// "wire" of the appliance, and speaks the frames of appliance/wire over it
// (docs/remote-control.md): screen tiles drawn on a canvas, consent asks,
// mouse and keyboard input, clipboard text, and files both ways. The rest of
// the session page works without it. Text that came from the customer's
// computer is put on the page with textContent, never as HTML.
import { T, VERSION, HEADER, MAX_CHUNK, MAX_CLIPBOARD, MAX_NAME, MAX_REASON, MAX_LEN, ENC, IN, TWO32, utf8, utf8dec, WireError, utf8Cut, Writer, Reader, text, encode } from "./remote-wire.js";
import { el, button, csrf, sizeText } from "./remote-util.js";
import { Transfers } from "./remote-files.js";

(() => {
  "use strict";

  const root = document.getElementById("remote");
  if (!root || root.hasAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");

  // ---- what the page says ----

  const idAttr = (name) => {
    const v = Number(root.getAttribute(name));
    return Number.isSafeInteger(v) && v > 0 ? v : 0;
  };
  const sessionID = encodeURIComponent(root.getAttribute("data-session") || "");
  const me = idAttr("data-me");
  const isOwner = root.getAttribute("data-owner") === "true";
  // The technician's own rights (desk.RightsIn); the appliance enforces
  // them whatever this page does.
  const mayControl = root.getAttribute("data-control") === "true";
  const mayFiles = root.getAttribute("data-files") === "true";
  // Whether the customer's support app is connected; a page without the
  // attribute (tests) assumes it is.
  let appUp = root.getAttribute("data-app") !== "0";
  let controller = idAttr("data-controller");
  const rtcURL = root.getAttribute("data-rtc") || "/console/sessions/" + sessionID + "/rtc";
  const controlURL = root.getAttribute("data-control-url") || "/console/sessions/" + sessionID + "/control";
  const collaborators = parseCollaborators(root.getAttribute("data-collaborators"));

  function parseCollaborators(s) {
    if (!s) return [];
    try {
      const list = JSON.parse(s);
      return Array.isArray(list) ? list.filter((c) => c && Number.isSafeInteger(c.id) && c.id > 0)
        .map((c) => ({ id: c.id, name: String(c.name || "Technician " + c.id) })) : [];
    } catch (e) {
      return [];
    }
  }

  // ---- the interface ----

  const viewBtn = button("View screen", "", () => viewScreen());
  const stopBtn = button("Disconnect", "secondary", () => disconnect("You disconnected. Select View screen to connect again."));
  const controlAskBtn = button("Request control", "secondary", () => ask("control"));
  const controlToggle = button("Control: on", "secondary remote-toggle", () => setControlOn(!controlOn));
  controlToggle.setAttribute("aria-pressed", "true");
  const fitBtn = button("Fit", "secondary", () => setScale("fit"));
  const actualBtn = button("1:1", "secondary", () => setScale("actual"));
  fitBtn.setAttribute("aria-label", "Fit the screen to the page width");
  actualBtn.setAttribute("aria-label", "Show the screen at its actual size");
  viewBtn.id = "remote-view";
  stopBtn.id = "remote-stop";
  controlAskBtn.id = "remote-control-ask";
  controlToggle.id = "remote-control-toggle";
  fitBtn.id = "remote-fit";
  actualBtn.id = "remote-actual";
  const scaleGroup = el("div", "remote-group");
  scaleGroup.setAttribute("role", "group");
  scaleGroup.setAttribute("aria-label", "Screen size");
  scaleGroup.append(fitBtn, actualBtn);

  const X = {
    BackSpace: 0xff08, Tab: 0xff09, Return: 0xff0d, Escape: 0xff1b, Delete: 0xffff, Print: 0xff61,
    F4: 0xffc1, Shift_L: 0xffe1, Control_L: 0xffe3, Alt_L: 0xffe9, Super_L: 0xffeb
  };
  const COMBOS = [
    ["Ctrl-Alt-Del", [X.Control_L, X.Alt_L, X.Delete]],
    ["Ctrl-Esc", [X.Control_L, X.Escape]],
    ["Alt-Tab", [X.Alt_L, X.Tab]],
    ["Alt-F4", [X.Alt_L, X.F4]],
    ["Print Screen", [X.Print]],
    ["Super", [X.Super_L]]
  ];
  let refusedCombos = new Set(); // combinations the customer's app says it cannot send
  const keysMenu = el("details", "remote-keys");
  keysMenu.id = "remote-keys";
  const keysSummary = el("summary", "button secondary", "Keys");
  const keysList = el("div", "remote-menu");
  keysList.setAttribute("role", "group");
  keysList.setAttribute("aria-label", "Send a key combination");
  const comboBtns = COMBOS.map(([label, syms]) => {
    const b = button(label, "secondary small", () => {
      keysMenu.open = false;
      if (refusedCombos.has(label)) {
        // The customer's system does not let a program send it.
        note("The customer's system does not let the support app send " + label + ". Ask the customer to press it on their keyboard.", true);
        return;
      }
      sendCombo(syms);
    });
    b.setAttribute("data-combo", label);
    return b;
  });
  keysList.append(...comboBtns);
  keysMenu.append(keysSummary, keysList);
  keysMenu.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && keysMenu.open) {
      keysMenu.open = false;
      keysSummary.focus();
    }
  });
  document.addEventListener("click", (ev) => {
    if (keysMenu.open && !keysMenu.contains(ev.target)) keysMenu.open = false;
  });

  const toolbar = el("div", "remote-toolbar");
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Remote control");
  toolbar.append(viewBtn, stopBtn, controlAskBtn, controlToggle, scaleGroup, keysMenu);

  // The owner hands control to one technician at a time.
  const handover = el("div", "remote-handover");
  const giveSelect = el("select");
  giveSelect.id = "remote-give";
  const giveLabel = el("label", "", "Control");
  giveLabel.htmlFor = giveSelect.id;
  const giveBtn = button("Give control", "secondary small", () => postController(Number(giveSelect.value)));
  const takeBtn = button("Take control back", "secondary small", () => postController(me));
  giveBtn.id = "remote-give-go";
  takeBtn.id = "remote-take";
  if (isOwner) {
    const options = [{ id: 0, name: "Nobody (view only)" }, { id: me, name: "Me" }]
      .concat(collaborators.filter((c) => c.id !== me));
    for (const o of options) {
      if (o.id === me && !me) continue;
      const opt = el("option", "", o.name);
      opt.value = String(o.id);
      giveSelect.append(opt);
    }
    handover.append(giveLabel, giveSelect, giveBtn, takeBtn);
    toolbar.append(handover);
  }

  const statusLine = el("p", "remote-status");
  statusLine.id = "remote-status";
  statusLine.setAttribute("role", "status");
  const connText = el("span", "remote-conn", "Not connected.");
  const consentText = el("span", "remote-consent");
  const noteText = el("span", "remote-note");
  statusLine.append(connText, consentText, noteText);
  const statsText = el("p", "remote-stats muted");
  statsText.id = "remote-stats";
  statsText.setAttribute("aria-label", "Screen statistics");
  const infoText = el("p", "remote-info muted");
  infoText.hidden = true;
  const statusBar = el("div", "remote-statusbar");
  statusBar.append(statusLine, statsText);

  const canvas = el("canvas", "remote-canvas");
  canvas.id = "remote-canvas";
  canvas.tabIndex = 0;
  canvas.hidden = true;
  canvas.width = 0;
  canvas.height = 0;
  canvas.setAttribute("role", "application");
  canvas.setAttribute("aria-roledescription", "remote screen");
  canvas.setAttribute("aria-label", "The customer's screen");
  canvas.setAttribute("aria-keyshortcuts", "Control+Alt+Shift+Q");
  const hint = el("p", "remote-hint muted",
    "While you control the computer and its screen has focus, your mouse and keys go to the customer's computer. " +
    "Press Ctrl+Alt+Shift+Q to leave the screen.");
  hint.id = "remote-keys-hint";
  canvas.setAttribute("aria-describedby", hint.id);
  const placeholder = el("p", "remote-placeholder", "Select View screen to ask the customer to show you their screen.");
  const screen = el("div", "remote-screen");
  screen.append(placeholder, canvas);

  // Clipboard.
  const clipSection = el("section", "remote-panel remote-clipboard");
  clipSection.setAttribute("aria-labelledby", "remote-clip-h");
  const clipH = el("h3", "", "Clipboard");
  clipH.id = "remote-clip-h";
  const clipText = el("textarea");
  clipText.id = "remote-clip-text";
  clipText.rows = 3;
  const clipLabel = el("label", "", "Text to put on the customer's clipboard");
  clipLabel.htmlFor = clipText.id;
  const clipErr = el("span", "error");
  clipErr.id = "remote-clip-err";
  clipErr.hidden = true;
  const clipBtn = button("Send clipboard", "secondary small", sendClipboard);
  clipBtn.id = "remote-clip-send";
  const clipHint = el("span", "hint", "The text goes to the customer while you control their computer.");
  clipHint.id = "remote-clip-hint";
  clipText.setAttribute("aria-describedby", clipHint.id + " " + clipErr.id);
  const clipField = el("div", "field");
  clipField.append(clipLabel, clipText, clipHint, clipErr);
  const clipInLabel = el("label", "", "The customer's clipboard");
  const clipIn = el("textarea", "remote-clip-in");
  clipIn.id = "remote-clip-in";
  clipIn.readOnly = true;
  clipIn.rows = 3;
  clipInLabel.htmlFor = clipIn.id;
  const clipCopy = button("Copy", "secondary small", () => {
    clipIn.select();
    if (navigator.clipboard) navigator.clipboard.writeText(clipIn.value).then(() => note("Copied."), () => {});
  });
  const clipInField = el("div", "field remote-clip-received");
  clipInField.hidden = true;
  clipInField.append(clipInLabel, clipIn, clipCopy);
  clipSection.append(clipH, clipField, clipBtn, clipInField);

  // Files.
  const fileSection = el("section", "remote-panel remote-files");
  fileSection.setAttribute("aria-labelledby", "remote-files-h");
  const fileH = el("h3", "", "Files");
  fileH.id = "remote-files-h";
  const fileInput = el("input");
  fileInput.type = "file";
  fileInput.id = "remote-file";
  fileInput.multiple = true;
  const fileLabel = el("label", "", "Send a file");
  fileLabel.htmlFor = fileInput.id;
  const fileHint = el("span", "hint", "The customer is asked to accept each file.");
  const fileField = el("div", "field");
  fileField.append(fileLabel, fileInput, fileHint);
  const pickBtn = button("Ask for a file", "secondary small", () => ask("pick-file"));
  pickBtn.id = "remote-pick";
  const transfersList = el("ul", "remote-transfers");
  transfersList.id = "remote-transfers";
  transfersList.setAttribute("aria-label", "File transfers");
  transfersList.setAttribute("aria-live", "polite");
  fileSection.append(fileH, fileField, pickBtn, transfersList);

  const panels = el("div", "remote-panels");
  if (mayControl) panels.append(clipSection);
  if (mayFiles) panels.append(fileSection);
  if (!mayControl) {
    controlAskBtn.hidden = true;
    keysMenu.hidden = true;
    const viewOnly = el("p", "remote-viewonly muted",
      "View only: your account's permissions do not include remote control" +
      (mayFiles ? "." : " or file transfer.") + " Ask an administrator if you need them.");
    viewOnly.id = "remote-viewonly";
    panels.append(viewOnly);
  } else if (!mayFiles) {
    const noFiles = el("p", "remote-viewonly muted", "Your account's permissions do not include file transfer.");
    noFiles.id = "remote-nofiles";
    panels.append(noFiles);
  }

  root.classList.add("remote");
  root.replaceChildren(toolbar, statusBar, infoText, screen, hint, panels);

  // ---- state ----

  let conn = null; // {pc, channel} once connected
  let connState = "idle"; // idle | connecting | open | closed
  const consent = { view: "none", control: "none", "pick-file": "none" }; // none | asked | granted | denied
  let controlOn = true;
  let scale = "fit";
  try {
    if (localStorage.getItem("switchboard.remote.scale") === "actual") scale = "actual";
  } catch (e) { /* storage blocked: fit */ }
  const sentLog = root.getAttribute("data-test") === "1" ? [] : null;

  function isController() {
    return mayControl && me !== 0 && controller === me;
  }

  // inputActive reports whether mouse, keys and clipboard go to the customer.
  function inputActive() {
    return connState === "open" && isController() && controlOn && consent.control === "granted";
  }

  function nameOf(id) {
    if (id === me) return "you";
    const c = collaborators.find((x) => x.id === id);
    return c ? c.name : "technician " + id;
  }

  // setText changes a text only when it differs: a live region announces
  // every change.
  function setText(e, s) {
    if (e.textContent !== s) e.textContent = s;
  }

  function note(s, bad) {
    noteText.textContent = s || "";
    noteText.classList.toggle("bad", !!bad);
  }

  function update() {
    const open = connState === "open";
    viewBtn.hidden = open && consent.view !== "denied" && consent.view !== "none";
    viewBtn.disabled = connState === "connecting";
    viewBtn.textContent = connState === "connecting" ? "Connecting…" : open ? "Ask to view again" : "View screen";
    stopBtn.hidden = !open;
    controlAskBtn.disabled = !open || consent.view !== "granted" || consent.control === "asked";
    controlAskBtn.hidden = !mayControl || consent.control === "granted";
    controlToggle.hidden = !isController() || consent.control !== "granted";
    controlToggle.setAttribute("aria-pressed", controlOn ? "true" : "false");
    controlToggle.textContent = controlOn ? "Control: on" : "Control: off (view only)";
    fitBtn.setAttribute("aria-pressed", scale === "fit" ? "true" : "false");
    actualBtn.setAttribute("aria-pressed", scale === "actual" ? "true" : "false");
    root.classList.toggle("remote-fit", scale === "fit");
    root.classList.toggle("remote-actual", scale === "actual");
    const active = inputActive();
    root.classList.toggle("remote-controlling", active);
    for (const b of comboBtns) b.disabled = !active;
    clipBtn.disabled = !active;
    fileInput.disabled = !open;
    pickBtn.disabled = !open || consent["pick-file"] === "asked";
    takeBtn.hidden = !isOwner || isController();
    const sel = String(controller);
    if (isOwner && giveSelect.value !== sel && !giveSelect.matches(":focus")) giveSelect.value = sel;

    root.classList.toggle("remote-offline", !open);
    setText(connText, { idle: "Not connected.", connecting: "Connecting…", open: "Connected.", closed: closedReason }[connState]);
    setText(consentText, consentSummary(active));
    if (!fb) {
      placeholder.textContent = !open ? "Select View screen to ask the customer to show you their screen."
        : !appUp ? "The customer's support app is not connected. They start it from their session page; your request reaches them as soon as it connects."
        : consent.view === "denied" ? "The customer declined to show their screen."
          : consent.view === "granted" ? "Waiting for the customer's screen…"
            : "Waiting for the customer to allow viewing…";
    }
  }

  function consentSummary(active) {
    if (connState !== "open") return "";
    if (!appUp) return "The customer's support app is not connected.";
    const parts = [];
    const v = consent.view;
    const c = consent.control;
    if (v === "asked") parts.push("Waiting for the customer to allow viewing…");
    else if (v === "denied") parts.push("The customer declined.");
    else if (v === "granted") parts.push(active ? "Controlling" : "Viewing");
    if (c === "asked") parts.push("Waiting for the customer to allow control…");
    else if (c === "denied") parts.push("The customer declined control.");
    else if (c === "granted" && !active) {
      if (isController()) parts.push("Your control is off: view only.");
      else if (controller) parts.push("View only: " + nameOf(controller) + " has control.");
      else parts.push("View only: nobody has control.");
    }
    const p = consent["pick-file"];
    if (p === "asked") parts.push("Waiting for the customer to choose a file…");
    else if (p === "denied") parts.push("The customer did not choose a file.");
    return parts.join(" ");
  }

  // ---- the screen ----

  const MAX_SIDE = 16384;
  const MAX_AREA = 48 << 20;
  const g = canvas.getContext("2d", { alpha: false });
  let fb = null; // ImageData of the whole screen; the canvas shows it
  const dirty = []; // [x, y, w, h] drawn into fb since the last frame end
  let queued = 0; // tile steps waiting for an asynchronous decode before them
  let chain = Promise.resolve();
  let scratch = null; // for JPEG pixels
  let scratchG = null;

  function resize(w, h) {
    if (fb && fb.width === w && fb.height === h) return;
    if (w < 1 || h < 1 || w > MAX_SIDE || h > MAX_SIDE || w * h > MAX_AREA) {
      throw new WireError("screen " + w + "×" + h + " is too large to show");
    }
    const next = new ImageData(w, h);
    const d = next.data;
    for (let i = 3; i < d.length; i += 4) d[i] = 255;
    if (fb) {
      const rowBytes = Math.min(w, fb.width) * 4;
      for (let y = 0; y < Math.min(h, fb.height); y++) {
        d.set(fb.data.subarray(y * fb.width * 4, y * fb.width * 4 + rowBytes), y * w * 4);
      }
    }
    fb = next;
    canvas.width = w;
    canvas.height = h;
    g.putImageData(fb, 0, 0);
    dirty.length = 0;
    canvas.hidden = false;
    placeholder.hidden = true;
  }

  // cover grows the screen to hold a tile when no device info said its size.
  function cover(x, y, w, h) {
    if (!fb || x + w > fb.width || y + h > fb.height) {
      resize(Math.max(fb ? fb.width : 0, x + w), Math.max(fb ? fb.height : 0, y + h));
    }
    dirty.push([x, y, w, h]);
  }

  function putRGB(x, y, w, h, src) {
    cover(x, y, w, h);
    const d = fb.data;
    const W = fb.width;
    let s = 0;
    for (let row = 0; row < h; row++) {
      let o = ((y + row) * W + x) * 4;
      for (let col = 0; col < w; col++, o += 4, s += 3) {
        d[o] = src[s];
        d[o + 1] = src[s + 1];
        d[o + 2] = src[s + 2];
      }
    }
  }

  function putRGBA(x, y, w, h, src) {
    cover(x, y, w, h);
    const d = fb.data;
    for (let row = 0; row < h; row++) {
      const o = ((y + row) * fb.width + x) * 4;
      d.set(src.subarray(row * w * 4, (row + 1) * w * 4), o);
      for (let i = o + 3; i < o + w * 4; i += 4) d[i] = 255;
    }
  }

  function fill(x, y, w, h, r, gr, b) {
    cover(x, y, w, h);
    const d = fb.data;
    for (let row = 0; row < h; row++) {
      let o = ((y + row) * fb.width + x) * 4;
      for (let col = 0; col < w; col++, o += 4) {
        d[o] = r;
        d[o + 1] = gr;
        d[o + 2] = b;
      }
    }
  }

  // palette draws EncPaletteRLE: n, n RGB colours, then (index, uvarint
  // count) runs covering the tile exactly.
  function palette(x, y, w, h, data) {
    const n = data[0];
    if (!n || data.length < 1 + n * 3) throw new WireError("palette tile is cut short");
    const pal = data.subarray(1, 1 + n * 3);
    let i = 1 + n * 3;
    const runs = [];
    let total = 0;
    const area = w * h;
    while (i < data.length) {
      const idx = data[i++];
      if (idx >= n) throw new WireError("palette tile uses colour " + idx + " of " + n);
      let count = 0;
      let mul = 1;
      for (;;) {
        if (i >= data.length || mul > area * 128) throw new WireError("palette tile has a bad run length");
        const byte = data[i++];
        count += (byte & 0x7f) * mul;
        mul *= 128;
        if (!(byte & 0x80)) break;
      }
      if (count < 1 || total + count > area) throw new WireError("palette tile runs do not cover the tile");
      runs.push(idx, count);
      total += count;
    }
    if (total !== area) throw new WireError("palette tile runs do not cover the tile");
    cover(x, y, w, h);
    const d = fb.data;
    let col = 0;
    let o = (y * fb.width + x) * 4;
    const skip = (fb.width - w) * 4;
    for (let r = 0; r < runs.length; r += 2) {
      const p = runs[r] * 3;
      const cr = pal[p], cg = pal[p + 1], cb = pal[p + 2];
      for (let k = runs[r + 1]; k > 0; k--) {
        d[o] = cr;
        d[o + 1] = cg;
        d[o + 2] = cb;
        o += 4;
        if (++col === w) {
          col = 0;
          o += skip;
        }
      }
    }
  }

  // inflate decompresses a zlib stream, refusing more than limit bytes.
  async function inflate(data, limit) {
    const reader = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
    const out = new Uint8Array(limit);
    let n = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      if (n + r.value.length > limit) {
        reader.cancel().catch(() => {});
        throw new WireError("deflate tile holds more than its pixels");
      }
      out.set(r.value, n);
      n += r.value.length;
    }
    if (n !== limit) throw new WireError("deflate tile holds " + n + " bytes, not " + limit);
    return out;
  }

  function jpegPixels(bmp, w, h) {
    if (!scratch || scratch.width < w || scratch.height < h) {
      const sw = Math.max(64, w, scratch ? scratch.width : 0);
      const sh = Math.max(64, h, scratch ? scratch.height : 0);
      if (!scratch) {
        scratch = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(sw, sh) : document.createElement("canvas");
        scratch.width = sw;
        scratch.height = sh;
        scratchG = scratch.getContext("2d", { willReadFrequently: true });
      } else {
        scratch.width = sw;
        scratch.height = sh;
      }
    }
    scratchG.drawImage(bmp, 0, 0, w, h);
    return scratchG.getImageData(0, 0, w, h).data;
  }

  // enqueue runs step after every step before it, in the order frames came.
  function enqueue(step) {
    queued++;
    chain = chain.then(step).catch(tileFailed).then(() => { queued--; });
  }

  function tile(x, y, w, h, encoding, data) {
    stats.tiles++;
    let decoded = null;
    if (encoding === ENC.DEFLATE) {
      decoded = inflate(data, w * h * 3);
    } else if (encoding === ENC.JPEG) {
      decoded = createImageBitmap(new Blob([data], { type: "image/jpeg" }), { colorSpaceConversion: "none" });
    }
    if (decoded) {
      decoded.catch(() => {}); // reported in order, by its step
      enqueue(() => decoded.then((px) => {
        if (encoding === ENC.DEFLATE) {
          putRGB(x, y, w, h, px);
        } else {
          try {
            putRGBA(x, y, w, h, jpegPixels(px, w, h));
          } finally {
            px.close();
          }
        }
      }));
      return;
    }
    const draw = () => {
      if (encoding === ENC.RAW) {
        if (data.length !== w * h * 3) throw new WireError("raw tile has " + data.length + " bytes, not " + w * h * 3);
        putRGB(x, y, w, h, data);
      } else if (encoding === ENC.SOLID) {
        if (data.length !== 3) throw new WireError("solid tile has " + data.length + " bytes, not 3");
        fill(x, y, w, h, data[0], data[1], data[2]);
      } else {
        palette(x, y, w, h, data);
      }
    };
    inOrder(draw);
  }

  // inOrder draws now, or after the asynchronous decodes before it.
  function inOrder(draw) {
    if (queued) {
      enqueue(draw);
    } else {
      try {
        draw();
      } catch (e) {
        tileFailed(e);
      }
    }
  }

  // copyRect moves a rectangle of the screen (wire.Copy), reading it whole
  // before writing: rows go bottom-up when moving down, and copyWithin
  // handles a row overlapping itself.
  function copyRect(sx, sy, dx, dy, w, h) {
    const draw = () => {
      if (!fb || sx + w > fb.width || dx + w > fb.width || sy + h > fb.height || dy + h > fb.height) {
        throw new WireError("copy reaches outside the screen");
      }
      const d = fb.data, stride = fb.width * 4, n = w * 4;
      const row = (r) => d.copyWithin((dy + r) * stride + dx * 4, (sy + r) * stride + sx * 4, (sy + r) * stride + sx * 4 + n);
      if (dy > sy) {
        for (let r = h - 1; r >= 0; r--) row(r);
      } else {
        for (let r = 0; r < h; r++) row(r);
      }
      dirty.push([dx, dy, w, h]);
    };
    stats.copies++;
    inOrder(draw);
  }

  function tileFailed(e) {
    stats.bad++;
    if (stats.bad === 1 || stats.bad % 100 === 0) console.warn("remote: screen tile:", e);
  }

  function frameEnd() {
    if (queued) enqueue(flush);
    else flush();
  }

  // flush shows what changed since the last frame end.
  function flush() {
    if (fb && dirty.length) {
      if (dirty.length > 24) {
        let x0 = fb.width, y0 = fb.height, x1 = 0, y1 = 0;
        for (const [x, y, w, h] of dirty) {
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x + w);
          y1 = Math.max(y1, y + h);
        }
        g.putImageData(fb, 0, 0, x0, y0, x1 - x0, y1 - y0);
      } else {
        for (const [x, y, w, h] of dirty) g.putImageData(fb, 0, 0, x, y, w, h);
      }
      dirty.length = 0;
    }
    stats.frames++;
    stats.lastFrame = performance.now();
  }

  function deviceInfo(info) {
    appChanged(true); // only a connected app reports its device
    const screens = Array.isArray(info.screens) ? info.screens : [];
    const s = screens[0];
    if (s && Number.isSafeInteger(s.width) && Number.isSafeInteger(s.height) && s.width > 0 && s.height > 0) {
      const size = () => resize(s.width, s.height);
      if (queued) enqueue(size);
      else size();
    }
    const facts = [info.os, info.hostname, info.user].filter((v) => typeof v === "string" && v);
    if (s) facts.push(s.width + "×" + s.height + (screens.length > 1 ? " (first of " + screens.length + " screens)" : ""));
    if (info.transport === "tcp") facts.push("over TCP");
    infoText.textContent = facts.join(" · ");
    refusedCombos = new Set(Array.isArray(info.refuses) ? info.refuses.filter((v) => typeof v === "string") : []);
    for (const b of comboBtns) {
      const refused = refusedCombos.has(b.getAttribute("data-combo"));
      b.setAttribute("aria-disabled", refused ? "true" : "false");
      b.title = refused ? "The customer's system does not let a program send this: ask them to press it" : "";
    }
    infoText.hidden = !facts.length || !!document.getElementById("device"); // the page shows it already
    if (info.capture === false) {
      note("The customer's computer cannot share its screen" + (info.note ? ": " + info.note : "."), true);
    }
  }

  function setScale(s) {
    scale = s;
    try {
      localStorage.setItem("switchboard.remote.scale", s);
    } catch (e) { /* private windows */ }
    update();
  }

  // ---- statistics ----

  const stats = { bytes: 0, frames: 0, tiles: 0, copies: 0, bad: 0, lastFrame: 0, prevBytes: 0, prevFrames: 0, prevAt: 0 };
  let statsTimer = 0;

  function startStats() {
    if (statsTimer) return;
    stats.prevAt = performance.now();
    stats.prevBytes = stats.bytes;
    stats.prevFrames = stats.frames;
    statsTimer = setInterval(tickStats, 1000);
    tickStats();
  }

  function stopStats() {
    clearInterval(statsTimer);
    statsTimer = 0;
  }

  function tickStats() {
    const now = performance.now();
    const secs = Math.max((now - stats.prevAt) / 1000, 0.001);
    const fps = (stats.frames - stats.prevFrames) / secs;
    const kib = (stats.bytes - stats.prevBytes) / 1024 / secs;
    stats.prevAt = now;
    stats.prevBytes = stats.bytes;
    stats.prevFrames = stats.frames;
    const age = stats.lastFrame ? ((now - stats.lastFrame) / 1000).toFixed(1) + " s ago" : "none yet";
    statsText.textContent = fps.toFixed(fps < 10 ? 1 : 0) + " frames/s · " + kib.toFixed(kib < 10 ? 1 : 0) + " KiB/s · " +
      stats.tiles + " tiles · " + stats.copies + " moves · last frame " + age + (stats.bad ? " · " + stats.bad + " unreadable" : "");
  }

  // ---- frames from the appliance ----

  function receive(data) {
    const b = data instanceof Uint8Array ? data : new Uint8Array(data);
    stats.bytes += b.length;
    if (!statsTimer) startStats();
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let i = 0;
    while (i < b.length) {
      if (b.length - i < HEADER || v.getUint32(i + 2) > b.length - i - HEADER) {
        malformed(b[i], new WireError("frame is cut short"));
        return;
      }
      const type = b[i];
      const len = v.getUint32(i + 2);
      const payload = b.subarray(i + HEADER, i + HEADER + len);
      i += HEADER + len;
      const max = MAX_LEN.get(type);
      if (max === undefined || len > max) {
        malformed(type, new WireError("unknown type or too long"));
        continue;
      }
      try {
        handle(type, new Reader(payload));
      } catch (e) {
        malformed(type, e);
      }
    }
  }

  function malformed(type, e) {
    stats.bad++;
    if (stats.bad === 1 || stats.bad % 100 === 0) console.warn("remote: frame of type " + type + ":", e);
  }

  function handle(type, r) {
    switch (type) {
      case T.TILE: {
        const x = r.u16("x"), y = r.u16("y"), w = r.u16("w"), h = r.u16("h"), e = r.u8("encoding");
        const data = r.rest();
        if (!w || !h || e < ENC.RAW || e > ENC.JPEG) throw new WireError("tile has no area or an unknown encoding");
        tile(x, y, w, h, e, data);
        break;
      }
      case T.COPY: {
        const sx = r.u16("source x"), sy = r.u16("source y"), dx = r.u16("x"), dy = r.u16("y");
        const w = r.u16("w"), h = r.u16("h");
        r.end();
        if (!w || !h) throw new WireError("copy has no area");
        copyRect(sx, sy, dx, dy, w, h);
        break;
      }
      case T.FRAME_END:
        r.u64("seq");
        r.end();
        frameEnd();
        break;
      case T.DEVICE_INFO: {
        let info;
        try {
          info = JSON.parse(text(r.rest(), "device info"));
        } catch (e) {
          throw new WireError("device info: " + e.message);
        }
        if (info && typeof info === "object") deviceInfo(info);
        break;
      }
      case T.CONSENT_REPLY: {
        const granted = r.bool("granted");
        const what = r.str("what", 16);
        r.u64("viewer"); // always this technician: the relay sends each their own
        r.end();
        consentReply(what, granted);
        break;
      }
      case T.CLIPBOARD:
        clipIn.value = text(r.rest(), "clipboard text");
        clipInField.hidden = false;
        note("The customer's clipboard arrived below the screen.");
        break;
      case T.FILE_OFFER: {
        const id = r.u32("id"), name = r.str("name", MAX_NAME), size = r.u64("size");
        r.str("from", MAX_NAME); // the customer
        r.end();
        files.offered(id, name, size);
        break;
      }
      case T.FILE_ANSWER: {
        const id = r.u32("id"), accept = r.bool("accept"), offset = r.u64("offset");
        r.end();
        files.answer(id, accept, offset);
        break;
      }
      case T.FILE_CHUNK: {
        const id = r.u32("id"), offset = r.u64("offset");
        files.chunk(id, offset, r.rest());
        break;
      }
      case T.FILE_DONE: {
        const id = r.u32("id"), sum = r.take(32, "sha256").slice();
        r.end();
        files.done(id, sum);
        break;
      }
      case T.FILE_CANCEL: {
        const id = r.u32("id"), reason = r.str("reason", MAX_REASON);
        r.end();
        files.cancelled(id, reason);
        break;
      }
      case T.CLOSE: {
        r.u16("code");
        const reason = r.str("reason", MAX_REASON);
        disconnect("The appliance ended the connection" + (reason ? ": " + reason : "."));
        break;
      }
      case T.PING:
        send(encode.pong(r.take(8, "nonce")));
        break;
      default: // Welcome, Pong, other viewers' asks: nothing to do
    }
  }

  function consentReply(what, granted) {
    if (!(what in consent)) return;
    consent[what] = granted ? "granted" : "denied";
    if (what === "pick-file" && !granted) files.resetPicks();
    if (what === "control" && !granted) forgetHeld();
    update();
  }

  // ---- frames to the appliance ----

  function send(frame) {
    const ch = conn && conn.channel;
    if (!ch || ch.readyState !== "open") return false;
    try {
      ch.send(frame);
    } catch (e) {
      return false;
    }
    if (sentLog) sentLog.push(frame.slice());
    return true;
  }

  function ask(what) {
    if (!send(encode.consentAsk(what))) {
      note("Not connected: select View screen first.", true);
      return;
    }
    consent[what] = "asked";
    if (what === "pick-file") files.expectPick();
    note("");
    update();
  }

  // ---- the connection ----

  let closedReason = "";
  let waiters = []; // senders waiting for the channel to drain
  const LOW_WATER = 512 << 10;

  async function viewScreen() {
    if (connState === "open") {
      ask("view");
      return;
    }
    if (connState === "connecting") return;
    const media = window.switchboardMedia;
    if (!media || typeof media.viewerConnection !== "function") {
      closedReason = "The viewer cannot connect: part of the page did not load. Reload the page.";
      connState = "closed";
      update();
      return;
    }
    connState = "connecting";
    note("");
    update();
    let c;
    try {
      c = await media.viewerConnection(rtcURL, { wire: VERSION });
      if (!c || !c.channel) throw new Error("no data channel");
    } catch (e) {
      connState = "closed";
      closedReason = "Could not connect to the appliance" + (e && e.message ? " (" + e.message + ")" : "") + ". Try again.";
      update();
      return;
    }
    const ch = c.channel;
    conn = c;
    ch.binaryType = "arraybuffer";
    ch.bufferedAmountLowThreshold = LOW_WATER;
    ch.addEventListener("message", (ev) => {
      if (conn !== c) return;
      if (ev.data instanceof ArrayBuffer || ArrayBuffer.isView(ev.data)) receive(ev.data);
    });
    ch.addEventListener("bufferedamountlow", wakeSenders);
    ch.addEventListener("close", () => {
      if (conn === c) disconnect("The connection to the appliance closed. Select View screen to connect again.");
    });
    if (c.pc && c.pc.addEventListener) {
      c.pc.addEventListener("connectionstatechange", () => {
        if (conn === c && c.pc.connectionState === "failed") {
          disconnect("The connection to the appliance failed; the network may block it. Select View screen to try again.");
        }
      });
    }
    if (ch.readyState !== "open") {
      const opened = await new Promise((resolve) => {
        ch.addEventListener("open", () => resolve(true), { once: true });
        ch.addEventListener("close", () => resolve(false), { once: true });
      });
      if (!opened || conn !== c) return;
    }
    connState = "open";
    startStats();
    if (consent.view !== "granted") ask("view");
    update();
  }

  function disconnect(reason) {
    const c = conn;
    if (!c) return;
    releaseHeld();
    conn = null;
    connState = "closed";
    closedReason = reason;
    for (const k of Object.keys(consent)) consent[k] = "none";
    files.resetPicks();
    try {
      c.channel.close();
    } catch (e) { /* already closed */ }
    try {
      if (c.pc) c.pc.close();
    } catch (e) { /* already closed */ }
    stopStats();
    wakeSenders();
    files.lost();
    update();
  }

  function wakeSenders() {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  }

  // drained waits until the channel holds at most LOW_WATER bytes unsent.
  async function drained() {
    while (conn && conn.channel.bufferedAmount > LOW_WATER) {
      await new Promise((resolve) => waiters.push(resolve));
    }
  }

  // ---- control ----

  function controllerChanged(id) {
    if (!Number.isSafeInteger(id) || id < 0 || id === controller) return;
    const was = isController();
    if (was) releaseHeld();
    controller = id;
    root.setAttribute("data-controller", String(id));
    if (!was && isController()) controlOn = true;
    update();
  }

  document.addEventListener("switchboard:controller", (ev) => {
    if (ev.detail && ev.detail.controller !== undefined) controllerChanged(Number(ev.detail.controller));
    if (ev.detail && "device" in ev.detail) appChanged(!!(ev.detail.device && ev.detail.device.connected));
  });

  // appChanged follows the customer's support app: questions asked while
  // it was away go to it once it connects; unanswered ones die with it.
  function appChanged(up) {
    if (up === appUp) return;
    appUp = up;
    if (!up) {
      for (const k of Object.keys(consent)) if (consent[k] === "asked") consent[k] = "none";
    } else if (connState === "open" && consent.view === "asked") {
      send(encode.consentAsk("view"));
    }
    update();
  }

  async function postController(id) {
    note("");
    try {
      const resp = await fetch(controlURL, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ viewer: id })
      });
      if (!resp.ok) {
        const d = await resp.json().catch(() => ({}));
        note(d.error || "Control was not handed over (the appliance answered " + resp.status + "). Try again.", true);
        return;
      }
      controllerChanged(id);
      note(id ? (id === me ? "You have control." : nameOf(id) + " has control.") : "Nobody has control: everyone views only.");
    } catch (e) {
      note("Control was not handed over: the appliance cannot be reached. Try again.", true);
    }
  }

  function setControlOn(on) {
    if (!on) releaseHeld();
    controlOn = on;
    update();
  }

  // ---- input ----

  const held = { keys: new Map(), buttons: new Set() }; // code → keysym; X11 buttons
  let movePending = null;
  let moveFrame = 0;
  let lastPos = null;
  const wheel = { x: 0, y: 0 };

  function sendInput(kind, down, x, y, code) {
    send(encode.input(kind, down, x, y, code));
  }

  // screenPos maps a pointer event from CSS pixels to screen pixels. Mouse
  // events have whole CSS pixels; the pointer event just before one (the
  // same press, release or move) has the fractions a scaled screen needs.
  function screenPos(ev) {
    const lp = lastPointer;
    if (lp && !(ev instanceof PointerEvent) && Math.abs(lp.clientX - ev.clientX) < 1 && Math.abs(lp.clientY - ev.clientY) < 1) ev = lp;
    const r = canvas.getBoundingClientRect();
    if (!r.width || !r.height || !canvas.width) return null;
    const x = Math.floor((ev.clientX - r.left) * canvas.width / r.width);
    const y = Math.floor((ev.clientY - r.top) * canvas.height / r.height);
    return { x: Math.min(Math.max(x, 0), canvas.width - 1), y: Math.min(Math.max(y, 0), canvas.height - 1) };
  }

  function flushMove() {
    if (moveFrame) cancelAnimationFrame(moveFrame);
    moveFrame = 0;
    const p = movePending;
    movePending = null;
    if (!p || !inputActive() || (lastPos && lastPos.x === p.x && lastPos.y === p.y)) return;
    lastPos = p;
    sendInput(IN.MOVE, false, p.x, p.y, 0);
  }

  let lastPointer = null;
  for (const type of ["pointermove", "pointerdown", "pointerup"]) {
    canvas.addEventListener(type, (ev) => { lastPointer = { clientX: ev.clientX, clientY: ev.clientY }; }, true);
  }

  canvas.addEventListener("pointermove", (ev) => {
    if (!inputActive()) return;
    const p = screenPos(ev);
    if (!p) return;
    movePending = p;
    if (!moveFrame) moveFrame = requestAnimationFrame(() => { moveFrame = 0; flushMove(); });
  });

  canvas.addEventListener("pointerdown", (ev) => {
    if (!inputActive()) return;
    try {
      canvas.setPointerCapture(ev.pointerId); // the release reaches us outside the canvas too
    } catch (e) { /* a synthetic pointer */ }
  });

  const BUTTONS = [1, 2, 3]; // DOM left, middle, right → X11 1, 2, 3

  canvas.addEventListener("mousedown", (ev) => {
    if (!inputActive()) return;
    ev.preventDefault();
    canvas.focus({ preventScroll: true });
    const code = BUTTONS[ev.button];
    const p = screenPos(ev);
    if (!code || !p) return;
    movePending = null;
    flushMove();
    held.buttons.add(code);
    lastPos = p;
    sendInput(IN.BUTTON, true, p.x, p.y, code);
  });

  window.addEventListener("mouseup", (ev) => {
    const code = BUTTONS[ev.button];
    if (!code || !held.buttons.has(code)) return;
    held.buttons.delete(code);
    if (!inputActive()) return;
    ev.preventDefault();
    const p = screenPos(ev) || lastPos || { x: 0, y: 0 };
    movePending = null;
    flushMove();
    lastPos = p;
    sendInput(IN.BUTTON, false, p.x, p.y, code);
  });

  canvas.addEventListener("contextmenu", (ev) => {
    if (inputActive()) ev.preventDefault();
  });

  // notches turns wheel deltas into notches (positive: right, down). A
  // mouse wheel notch is about 100 pixels; a touchpad's small deltas add up.
  function notches(axis, delta, mode) {
    const unit = mode === 1 ? 3 : mode === 2 ? 1 : 100; // lines, pages, pixels per notch
    const v = delta / unit;
    if (Math.abs(v) >= 1) {
      wheel[axis] = 0;
      return Math.round(v);
    }
    wheel[axis] += v;
    const n = Math.trunc(wheel[axis]);
    wheel[axis] -= n;
    return n;
  }

  canvas.addEventListener("wheel", (ev) => {
    if (!inputActive()) return;
    ev.preventDefault();
    const nx = notches("x", ev.deltaX, ev.deltaMode);
    const ny = notches("y", ev.deltaY, ev.deltaMode);
    if (!nx && !ny) return;
    movePending = screenPos(ev);
    flushMove();
    sendInput(IN.WHEEL, false, nx, ny, 0);
  }, { passive: false });

  // Keysyms of the keys that are not characters (X11 keysymdef.h), by
  // KeyboardEvent.key; pairs are [left, right].
  const KEYSYMS = {
    Backspace: 0xff08, Tab: 0xff09, Enter: 0xff0d, Escape: 0xff1b, Delete: 0xffff, Clear: 0xff0b,
    Pause: 0xff13, ScrollLock: 0xff14, Home: 0xff50, ArrowLeft: 0xff51, ArrowUp: 0xff52, ArrowRight: 0xff53,
    ArrowDown: 0xff54, PageUp: 0xff55, PageDown: 0xff56, End: 0xff57, Select: 0xff60, PrintScreen: 0xff61,
    Insert: 0xff63, ContextMenu: 0xff67, Help: 0xff6a, NumLock: 0xff7f, CapsLock: 0xffe5, AltGraph: 0xfe03,
    Shift: [0xffe1, 0xffe2], Control: [0xffe3, 0xffe4], Alt: [0xffe9, 0xffea],
    Meta: [0xffeb, 0xffec], OS: [0xffeb, 0xffec], Super: [0xffeb, 0xffec], Hyper: [0xffed, 0xffee]
  };

  // keysym maps a KeyboardEvent to an X11 keysym, or 0 for none.
  function keysym(ev) {
    const k = ev.key;
    const named = KEYSYMS[k];
    if (named) {
      if (Array.isArray(named)) return ev.location === 2 ? named[1] : named[0];
      if (k === "Enter" && ev.location === 3) return 0xff8d; // KP_Enter
      return named;
    }
    const f = /^F([1-9]|[1-2][0-9]|3[0-5])$/.exec(k);
    if (f) return 0xffbe + Number(f[1]) - 1;
    const chars = Array.from(k || "");
    if (chars.length !== 1) return 0; // Dead, Unidentified, Process, …
    const cp = chars[0].codePointAt(0);
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
    return cp <= 0xff ? cp : 0x01000000 + cp;
  }

  function isLeave(ev) {
    return ev.ctrlKey && ev.altKey && ev.shiftKey && (ev.code === "KeyQ" || ev.key === "q" || ev.key === "Q");
  }

  canvas.addEventListener("keydown", (ev) => {
    if (isLeave(ev)) {
      ev.preventDefault();
      releaseHeld();
      canvas.blur();
      const first = toolbar.querySelector("button:not([hidden]):not(:disabled)");
      if (first) first.focus();
      return;
    }
    if (!inputActive() || ev.isComposing) return;
    const sym = keysym(ev);
    if (!sym) return;
    ev.preventDefault();
    held.keys.set(ev.code || ev.key, sym);
    sendInput(IN.KEY, true, 0, 0, sym);
  });

  canvas.addEventListener("keyup", (ev) => {
    const id = ev.code || ev.key;
    const sym = held.keys.get(id);
    if (!sym) return;
    held.keys.delete(id);
    if (!inputActive()) return;
    ev.preventDefault();
    sendInput(IN.KEY, false, 0, 0, sym);
  });

  canvas.addEventListener("blur", releaseHeld);
  window.addEventListener("blur", releaseHeld);

  // releaseHeld lets go of every key and button still down on the
  // customer's computer, so none stays stuck.
  function releaseHeld() {
    if (inputActive()) {
      for (const sym of held.keys.values()) sendInput(IN.KEY, false, 0, 0, sym);
      const p = lastPos || { x: 0, y: 0 };
      for (const b of held.buttons) sendInput(IN.BUTTON, false, p.x, p.y, b);
    }
    forgetHeld();
  }

  function forgetHeld() {
    held.keys.clear();
    held.buttons.clear();
    movePending = null;
  }

  function sendCombo(syms) {
    if (!inputActive()) return;
    for (const s of syms) sendInput(IN.KEY, true, 0, 0, s);
    for (const s of syms.slice().reverse()) sendInput(IN.KEY, false, 0, 0, s);
  }

  // ---- clipboard ----

  function clipError(s) {
    clipErr.textContent = s;
    clipErr.hidden = !s;
    clipText.setAttribute("aria-invalid", s ? "true" : "false");
  }

  function sendClipboard() {
    const bytes = utf8.encode(clipText.value);
    if (!bytes.length) {
      clipError("Type or paste the text to send first.");
      return;
    }
    if (bytes.length > MAX_CLIPBOARD) {
      clipError("The text is " + sizeText(bytes.length) + "; at most " + sizeText(MAX_CLIPBOARD) + " fit on the clipboard.");
      return;
    }
    if (!inputActive()) {
      clipError("Clipboard text goes to the customer only while you control their computer.");
      return;
    }
    if (!send(encode.clipboard(bytes))) {
      clipError("Not sent: the connection is closed. Connect again and send it.");
      return;
    }
    clipError("");
    note("The text is on the customer's clipboard.");
  }

  // ---- files (remote-files.js) ----

  const files = new Transfers({
    send, drained, note, list: transfersList,
    isOpen: () => connState === "open",
    picked: () => {
      consent["pick-file"] = "granted";
      update();
    }
  });
  fileInput.addEventListener("change", () => {
    const chosen = Array.from(fileInput.files || []);
    fileInput.value = ""; // the same file again resumes
    for (const f of chosen) files.offer(f);
  });

  // ---- start ----

  update();
  if (sentLog) {
    // Tests only (data-test="1"; production pages never set it).
    window.switchboardRemote = {
      feed: (buf) => receive(buf),
      sent: sentLog,
      canvas: () => canvas,
      frames: () => stats.frames
    };
  }
})();
