// Switchboard remote control: the technician's viewer of a customer's screen.
// It builds the viewer inside <div id="remote">, connects through
// window.switchboardMedia.viewerConnection (media.js) to the data channel
// "wire" of the appliance, and speaks the frames of appliance/wire over it
// (docs/remote-control.md): screen tiles drawn on a canvas, consent asks,
// mouse and keyboard input, clipboard text, and files both ways. The rest of
// the session page works without it. Text that came from the customer's
// computer is put on the page with textContent, never as HTML.
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

  // ---- the wire (appliance/wire: wire.go, messages.go, codec.go) ----

  const T = {
    HELLO: 1, WELCOME: 2, CLOSE: 3, PING: 4, PONG: 5, DEVICE_INFO: 10, CONSENT_ASK: 11, CONSENT_REPLY: 12,
    TILE: 21, FRAME_END: 22, FULL_FRAME: 23, INPUT: 30, CLIPBOARD: 31,
    FILE_OFFER: 40, FILE_ANSWER: 41, FILE_CHUNK: 42, FILE_DONE: 43, FILE_CANCEL: 44
  };
  const HEADER = 6;
  const MAX_CHUNK = 64 << 10;
  const MAX_CLIPBOARD = (256 << 10) - HEADER; // wire.MaxClipboard: a frame fits one data-channel message
  const MAX_NAME = 255;
  const MAX_REASON = 512;
  // The largest payload of each type (wire.go maxLen); other types are skipped.
  const MAX_LEN = new Map([
    [T.HELLO, 1 << 10], [T.WELCOME, 4 << 10], [T.CLOSE, 4 << 10], [T.PING, 8], [T.PONG, 8],
    [T.DEVICE_INFO, 64 << 10], [T.CONSENT_ASK, 4 << 10], [T.CONSENT_REPLY, 32],
    [T.TILE, 1 << 20], [T.FRAME_END, 8], [T.FULL_FRAME, 0], [T.INPUT, 32], [T.CLIPBOARD, MAX_CLIPBOARD],
    [T.FILE_OFFER, 4 << 10], [T.FILE_ANSWER, 16], [T.FILE_CHUNK, MAX_CHUNK + 16], [T.FILE_DONE, 40],
    [T.FILE_CANCEL, 4 << 10]
  ]);
  const ENC = { RAW: 1, SOLID: 2, PALETTE: 3, DEFLATE: 4, JPEG: 5 };
  const IN = { MOVE: 1, BUTTON: 2, WHEEL: 3, KEY: 4 };
  const TWO32 = 4294967296;

  const utf8 = new TextEncoder();
  const utf8dec = new TextDecoder("utf-8", { fatal: true });

  class WireError extends Error {}

  // utf8Cut returns the UTF-8 bytes of s, cut at a character to at most max.
  function utf8Cut(s, max) {
    const b = utf8.encode(s);
    if (b.length <= max) return b;
    let n = max;
    while (n > 0 && (b[n] & 0xc0) === 0x80) n--;
    return b.subarray(0, n);
  }

  // Writer builds one frame: header, then the fields in the order of the
  // message's append method.
  class Writer {
    constructor(type, size) {
      this.b = new Uint8Array(HEADER + (size || 32));
      this.v = new DataView(this.b.buffer);
      this.n = HEADER;
      this.b[0] = type;
    }
    room(k) {
      if (this.n + k <= this.b.length) return;
      const b = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
      b.set(this.b.subarray(0, this.n));
      this.b = b;
      this.v = new DataView(b.buffer);
    }
    u8(x) { this.room(1); this.b[this.n++] = x; return this; }
    u16(x) { this.room(2); this.v.setUint16(this.n, x); this.n += 2; return this; }
    u32(x) { this.room(4); this.v.setUint32(this.n, x >>> 0); this.n += 4; return this; }
    i32(x) { this.room(4); this.v.setInt32(this.n, x | 0); this.n += 4; return this; }
    u64(x) { return this.u32(Math.floor(x / TWO32)).u32(x % TWO32); }
    bytes(a) { this.room(a.length); this.b.set(a, this.n); this.n += a.length; return this; }
    // str writes a u16 length and the UTF-8 bytes, cut to max bytes.
    str(s, max) { const a = utf8Cut(s, max); return this.u16(a.length).bytes(a); }
    frame() {
      this.b[1] = 0;
      this.v.setUint32(2, this.n - HEADER);
      return this.b.subarray(0, this.n);
    }
  }

  // Reader reads a payload; every read is checked like wire's dec.
  class Reader {
    constructor(b) {
      this.b = b;
      this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      this.i = 0;
    }
    take(n, what) {
      if (this.i + n > this.b.length) throw new WireError(what + " is cut short");
      this.i += n;
      return this.b.subarray(this.i - n, this.i);
    }
    u8(what) { return this.take(1, what)[0]; }
    u16(what) { this.take(2, what); return this.v.getUint16(this.i - 2); }
    u32(what) { this.take(4, what); return this.v.getUint32(this.i - 4); }
    // u64 is exact up to 2^53, far beyond any size or offset here.
    u64(what) { const hi = this.u32(what); return hi * TWO32 + this.u32(what); }
    bool(what) {
      const x = this.u8(what);
      if (x > 1) throw new WireError(what + " is neither 0 nor 1");
      return x === 1;
    }
    str(what, max) {
      const n = this.u16(what + " length");
      if (n > max) throw new WireError(what + " is longer than " + max + " bytes");
      return text(this.take(n, what), what);
    }
    rest() { const r = this.b.subarray(this.i); this.i = this.b.length; return r; }
    end() { if (this.i !== this.b.length) throw new WireError((this.b.length - this.i) + " bytes left over"); }
  }

  function text(bytes, what) {
    try {
      return utf8dec.decode(bytes);
    } catch (e) {
      throw new WireError(what + " is not UTF-8 text");
    }
  }

  const encode = {
    // The relay fills in the technician's name and id from the viewer's grant.
    consentAsk: (what) => new Writer(T.CONSENT_ASK).str("", MAX_NAME).str(what, 16).u64(0).frame(),
    input: (kind, down, x, y, code) => new Writer(T.INPUT, 14).u8(kind).u8(down ? 1 : 0).i32(x).i32(y).u32(code).frame(),
    clipboard: (bytes) => new Writer(T.CLIPBOARD, bytes.length).bytes(bytes).frame(),
    // The relay fills in who offers it.
    fileOffer: (id, name, size) => new Writer(T.FILE_OFFER).u32(id).str(name, MAX_NAME).u64(size).str("", MAX_NAME).frame(),
    fileAnswer: (id, accept, offset) => new Writer(T.FILE_ANSWER, 13).u32(id).u8(accept ? 1 : 0).u64(offset).frame(),
    fileChunk: (id, offset, data) => new Writer(T.FILE_CHUNK, 12 + data.length).u32(id).u64(offset).bytes(data).frame(),
    fileDone: (id, sum) => new Writer(T.FILE_DONE, 36).u32(id).bytes(sum).frame(),
    fileCancel: (id, reason) => new Writer(T.FILE_CANCEL).u32(id).str(reason, MAX_REASON).frame(),
    pong: (nonce) => new Writer(T.PONG, 8).bytes(nonce).frame()
  };

  // ---- small helpers ----

  function el(tag, cls, txt) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (txt !== undefined && txt !== null) e.textContent = String(txt);
    return e;
  }

  function button(label, cls, onClick) {
    const b = el("button", cls, label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function csrf() {
    return window.switchboard ? window.switchboard.csrf() : "";
  }

  function sizeText(n) {
    if (n < 1024) return n + " bytes";
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let v = n / 1024;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return (v < 10 ? v.toFixed(1) : Math.round(v)) + " " + units[u];
  }

  function percent(done, total) {
    return total ? Math.floor(done * 100 / total) : 100;
  }

  // safeName makes a name wire accepts: no directories, no control
  // characters, at most 255 bytes (the extension is kept).
  function safeName(name) {
    let n = String(name || "").replace(/[/\\\u0000-\u001f\u007f]/g, "_").trim();
    if (n === "" || n === "." || n === "..") n = "file";
    if (utf8.encode(n).length <= MAX_NAME) return n;
    const dot = n.lastIndexOf(".");
    const ext = dot > 0 && n.length - dot <= 16 ? n.slice(dot) : "";
    const stem = Array.from(n.slice(0, n.length - ext.length));
    while (stem.length && utf8.encode(stem.join("") + ext).length > MAX_NAME) stem.pop();
    return stem.join("") + ext;
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  // Sha256 hashes a file as it is read, so a file of gigabytes need not be
  // in memory at once (crypto.subtle only hashes whole buffers).
  const K256 = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);

  class Sha256 {
    constructor() {
      this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
      this.w = new Uint32Array(64);
      this.buf = new Uint8Array(64);
      this.n = 0;
      this.len = 0;
    }
    update(data) {
      let i = 0;
      this.len += data.length;
      if (this.n) {
        i = Math.min(64 - this.n, data.length);
        this.buf.set(data.subarray(0, i), this.n);
        this.n += i;
        if (this.n < 64) return;
        this.block(this.buf, 0);
        this.n = 0;
      }
      for (; i + 64 <= data.length; i += 64) this.block(data, i);
      if (i < data.length) {
        this.buf.set(data.subarray(i));
        this.n = data.length - i;
      }
    }
    block(b, o) {
      const w = this.w;
      const h = this.h;
      for (let t = 0; t < 16; t++, o += 4) w[t] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15];
        const y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
      }
      let a = h[0], b2 = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K256[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b2) ^ (a & c) ^ (b2 & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b2; b2 = a; a = (t1 + t2) | 0;
      }
      h[0] += a; h[1] += b2; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
    }
    digest() {
      const bits = this.len * 8;
      const pad = new Uint8Array((this.n < 56 ? 64 : 128) - this.n);
      pad[0] = 0x80;
      const v = new DataView(pad.buffer);
      v.setUint32(pad.length - 8, Math.floor(bits / TWO32));
      v.setUint32(pad.length - 4, bits % TWO32);
      this.update(pad);
      const out = new Uint8Array(32);
      const ov = new DataView(out.buffer);
      for (let i = 0; i < 8; i++) ov.setUint32(i * 4, this.h[i]);
      return out;
    }
  }

  async function sha256(blob) {
    if (window.crypto && crypto.subtle) {
      return new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
    }
    const h = new Sha256(); // not a secure context: hash in script
    h.update(new Uint8Array(await blob.arrayBuffer()));
    return h.digest();
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
  const keysMenu = el("details", "remote-keys");
  keysMenu.id = "remote-keys";
  const keysSummary = el("summary", "button secondary", "Keys");
  const keysList = el("div", "remote-menu");
  keysList.setAttribute("role", "group");
  keysList.setAttribute("aria-label", "Send a key combination");
  const comboBtns = COMBOS.map(([label, syms]) => {
    const b = button(label, "secondary small", () => {
      sendCombo(syms);
      keysMenu.open = false;
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
  let pickAsked = 0; // offers to accept without asking: one per pick-file asked
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
    infoText.textContent = facts.join(" · ");
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

  const stats = { bytes: 0, frames: 0, tiles: 0, bad: 0, lastFrame: 0, prevBytes: 0, prevFrames: 0, prevAt: 0 };
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
      stats.tiles + " tiles · last frame " + age + (stats.bad ? " · " + stats.bad + " unreadable" : "");
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
        fileOffer(id, name, size);
        break;
      }
      case T.FILE_ANSWER: {
        const id = r.u32("id"), accept = r.bool("accept"), offset = r.u64("offset");
        r.end();
        fileAnswer(id, accept, offset);
        break;
      }
      case T.FILE_CHUNK: {
        const id = r.u32("id"), offset = r.u64("offset");
        fileChunk(id, offset, r.rest());
        break;
      }
      case T.FILE_DONE: {
        const id = r.u32("id"), sum = r.take(32, "sha256").slice();
        r.end();
        fileDone(id, sum);
        break;
      }
      case T.FILE_CANCEL: {
        const id = r.u32("id"), reason = r.str("reason", MAX_REASON);
        r.end();
        fileCancel(id, reason);
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
    if (what === "pick-file" && !granted) pickAsked = 0;
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
    if (what === "pick-file") pickAsked++;
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
      c = await media.viewerConnection(rtcURL);
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
    pickAsked = 0;
    try {
      c.channel.close();
    } catch (e) { /* already closed */ }
    try {
      if (c.pc) c.pc.close();
    } catch (e) { /* already closed */ }
    stopStats();
    wakeSenders();
    for (const t of transfers.values()) {
      if (t.state === "sending" || t.state === "offered" || t.state === "receiving" || t.state === "confirming") {
        finish(t, "failed", t.out
          ? "Connection lost after " + percent(t.done, t.size) + " %: send it again to resume."
          : "Connection lost after " + percent(t.done, t.size) + " %: ask for the file again.");
      }
    }
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

  // ---- files ----

  const transfers = new Map(); // key "out:ID" or "in:ID" → transfer
  const CLIENT_BIT = 0x80000000; // the client's transfer IDs have it; ours do not
  const MAX_INCOMING = 2 * 1024 * 1024 * 1024;
  const READ_BLOCK = 1 << 20;
  let nextID = 1;

  function transferEl(t) {
    const li = el("li", "remote-transfer " + (t.out ? "out" : "in"));
    li.setAttribute("data-transfer", (t.out ? "out:" : "in:") + t.id);
    const head = el("div", "remote-transfer-head");
    head.append(el("strong", "remote-transfer-name", t.name), el("span", "muted", " · " + sizeText(t.size) + (t.out ? " to the customer" : " from the customer")));
    t.bar = el("progress");
    t.bar.max = Math.max(t.size, 1);
    t.bar.value = 0;
    t.bar.setAttribute("aria-label", "Progress of " + t.name);
    t.text = el("span", "remote-transfer-state");
    t.actions = el("span", "remote-transfer-actions");
    t.cancel = button("Cancel", "danger small", () => cancel(t));
    t.actions.append(t.cancel);
    li.append(head, t.bar, t.text, t.actions);
    t.li = li;
    transfersList.prepend(li);
  }

  function progress(t) {
    t.bar.value = t.done;
    if (t.state === "sending" || t.state === "receiving") {
      t.text.textContent = percent(t.done, t.size) + " % " + (t.out ? "sent" : "received");
    }
  }

  function finish(t, state, msg) {
    t.state = state;
    t.text.textContent = msg;
    t.li.classList.add(state);
    t.cancel.hidden = true;
    if (state === "done") t.bar.value = t.bar.max;
    if (!t.out) t.parts = [];
  }

  function cancel(t) {
    if (t.state !== "offered" && t.state !== "sending" && t.state !== "receiving" && t.state !== "confirming") return;
    send(encode.fileCancel(t.id, t.out ? "The technician cancelled sending the file." : "The technician cancelled receiving the file."));
    finish(t, "cancelled", "Cancelled.");
  }

  fileInput.addEventListener("change", () => {
    const files = Array.from(fileInput.files || []);
    fileInput.value = ""; // the same file again resumes
    for (const f of files) offer(f);
  });

  function offer(file) {
    if (connState !== "open") {
      note("Not connected: select View screen first.", true);
      return;
    }
    const t = { out: true, id: nextID++, file, name: safeName(file.name), size: file.size, done: 0, state: "offered" };
    if (nextID >= CLIENT_BIT) nextID = 1;
    transfers.set("out:" + t.id, t);
    transferEl(t);
    if (!send(encode.fileOffer(t.id, t.name, t.size))) {
      finish(t, "failed", "Not sent: the connection is closed. Connect again and send it.");
      return;
    }
    t.text.textContent = "Waiting for the customer to accept…";
  }

  function fileAnswer(id, accept, offset) {
    const t = transfers.get("out:" + id);
    if (!t || t.state !== "offered") return;
    if (!accept) {
      finish(t, "refused", "The customer refused the file.");
      return;
    }
    t.state = "sending";
    sendFile(t, Math.min(offset, t.size)).catch((e) => {
      if (t.state === "sending") {
        send(encode.fileCancel(t.id, "The technician's browser could not read the file."));
        finish(t, "failed", "Stopped after " + percent(t.done, t.size) + " %: the browser could not read the file (" + e.message + "). Choose it again.");
      }
    });
  }

  // sendFile hashes the part the customer has, then sends the rest in chunks,
  // never more than LOW_WATER ahead of the network, and the SHA-256 of all.
  async function sendFile(t, offset) {
    const hash = new Sha256();
    t.done = offset;
    progress(t);
    let pos = 0;
    while (pos < t.size) {
      const end = Math.min(t.size, pos + READ_BLOCK);
      const block = new Uint8Array(await t.file.slice(pos, end).arrayBuffer());
      if (block.length !== end - pos) throw new Error("the file changed while it was sent");
      hash.update(block);
      for (let o = Math.max(offset - pos, 0); o < block.length; o += MAX_CHUNK) {
        await drained();
        if (t.state !== "sending") return;
        const data = block.subarray(o, Math.min(o + MAX_CHUNK, block.length));
        if (!send(encode.fileChunk(t.id, pos + o, data))) return; // disconnect reports it
        t.done = pos + o + data.length;
        progress(t);
      }
      pos = end;
    }
    if (t.state !== "sending") return;
    t.sum = hash.digest();
    if (!send(encode.fileDone(t.id, t.sum))) return;
    t.state = "confirming";
    t.bar.value = t.bar.max;
    t.text.textContent = "Sent; the customer's computer is checking it…";
  }

  function fileOffer(id, name, size) {
    if (!(id & CLIENT_BIT) || transfers.has("in:" + id)) return;
    const t = { out: false, id, name: safeName(name), size, done: 0, state: "offered", parts: [] };
    transfers.set("in:" + t.id, t);
    transferEl(t);
    if (size > MAX_INCOMING) {
      send(encode.fileAnswer(id, false, 0));
      finish(t, "refused", "Too large to receive in the browser (more than 2 GiB).");
      return;
    }
    if (pickAsked > 0) {
      pickAsked--;
      consent["pick-file"] = "granted";
      receiveFile(t);
      update();
      return;
    }
    // Offered without this technician asking: receive only on request.
    t.text.textContent = "The customer offers this file.";
    const take = button("Receive", "secondary small", () => {
      take.remove();
      if (t.state === "offered") receiveFile(t);
    });
    t.actions.prepend(take);
  }

  function receiveFile(t) {
    if (!send(encode.fileAnswer(t.id, true, 0))) {
      finish(t, "failed", "Not connected: ask for the file again.");
      return;
    }
    t.state = "receiving";
    progress(t);
  }

  function fileChunk(id, offset, data) {
    const t = transfers.get("in:" + id);
    if (!t || t.state !== "receiving") return;
    if (offset !== t.done || t.done + data.length > t.size) {
      const why = offset !== t.done ? "parts of the file arrived out of order" : "more arrived than the file's size";
      send(encode.fileCancel(t.id, "The technician's browser stopped the transfer: " + why + ". Send it again."));
      finish(t, "failed", "Stopped: " + why + ". Ask for the file again.");
      return;
    }
    t.parts.push(data);
    t.done += data.length;
    progress(t);
  }

  function fileDone(id, sum) {
    if (id & CLIENT_BIT) {
      receivedFile(transfers.get("in:" + id), sum);
      return;
    }
    const t = transfers.get("out:" + id);
    if (!t || t.state !== "confirming") return;
    if (sameBytes(sum, t.sum)) finish(t, "done", "Delivered: the file is on the customer's computer.");
    else finish(t, "failed", "The customer's computer got a different file (checksum mismatch). Send it again.");
  }

  async function receivedFile(t, sum) {
    if (!t || t.state !== "receiving") return;
    if (t.done !== t.size) {
      send(encode.fileCancel(t.id, "The file arrived incomplete. Send it again."));
      finish(t, "failed", "Incomplete: " + sizeText(t.done) + " of " + sizeText(t.size) + " arrived. Ask for the file again.");
      return;
    }
    t.state = "verifying";
    t.text.textContent = "Checking the file…";
    const blob = new Blob(t.parts, { type: "application/octet-stream" });
    t.parts = [];
    let got;
    try {
      got = await sha256(blob);
    } catch (e) {
      got = null;
    }
    if (t.state !== "verifying") return;
    if (!got || !sameBytes(got, sum)) {
      send(encode.fileCancel(t.id, "The file arrived damaged (checksum mismatch). Send it again."));
      finish(t, "failed", "The file arrived damaged (checksum mismatch). Ask for it again.");
      return;
    }
    send(encode.fileDone(t.id, sum)); // confirmation
    finish(t, "done", "Received and checked.");
    const a = el("a", "button small remote-download", "Save " + t.name);
    a.href = URL.createObjectURL(blob);
    a.download = t.name;
    t.actions.append(a);
  }

  function fileCancel(id, reason) {
    const t = transfers.get((id & CLIENT_BIT ? "in:" : "out:") + id);
    if (!t || t.state === "done" || t.state === "failed" || t.state === "cancelled" || t.state === "refused") return;
    finish(t, "failed", "Stopped: " + (reason || "the customer's computer cancelled the transfer."));
  }

  // ---- start ----

  update();
  if (sentLog) {
    // Tests only (data-test="1"; production pages never set it).
    window.switchboardRemote = {
      feed: (buf) => receive(buf),
      sent: sentLog,
      canvas: () => canvas
    };
  }
})();
