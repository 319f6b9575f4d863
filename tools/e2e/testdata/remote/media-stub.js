// A stand-in for media.js in the remote.js tests (remotejs_test.go):
// viewerConnection resolves with a fake "wire" data channel that records
// every frame sent and lets the test deliver frames, and the page's errors
// and Content-Security-Policy violations are collected for the test.
(() => {
  "use strict";

  const errors = [];
  window.addEventListener("error", (ev) => errors.push("error: " + ev.message));
  window.addEventListener("unhandledrejection", (ev) => errors.push("unhandled rejection: " + ev.reason));
  document.addEventListener("securitypolicyviolation", (ev) => errors.push("CSP: " + ev.violatedDirective + " " + ev.blockedURI));
  const contextMenus = [];
  window.addEventListener("contextmenu", (ev) => contextMenus.push(ev.defaultPrevented));

  function b64(u8) {
    let s = "";
    for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  }

  function unb64(s) {
    const bin = atob(s);
    const u8 = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u8[i] = bin.charCodeAt(i);
    return u8;
  }

  class FakeChannel extends EventTarget {
    constructor() {
      super();
      this.label = "wire";
      this.readyState = "connecting";
      this.binaryType = "blob";
      this.bufferedAmount = 0;
      this.bufferedAmountLowThreshold = 0;
      this.slow = false; // sent bytes stay buffered until drain()
      this.sent = [];
    }
    send(data) {
      if (this.readyState !== "open") throw new DOMException("the channel is not open", "InvalidStateError");
      const u8 = data instanceof ArrayBuffer ? new Uint8Array(data.slice(0))
        : new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
      this.sent.push(u8);
      if (this.slow) this.bufferedAmount += u8.length;
    }
    close() {
      if (this.readyState === "closed") return;
      this.readyState = "closed";
      this.dispatchEvent(new Event("close"));
    }
  }

  const fake = {
    url: "",
    channel: null,
    errors,
    contextMenus,
    // deliver hands the channel one message, as the network would.
    deliver(s) {
      this.channel.dispatchEvent(new MessageEvent("message", { data: unb64(s).buffer }));
    },
    sent(from) {
      return this.channel ? this.channel.sent.slice(from || 0).map(b64) : [];
    },
    count() {
      return this.channel ? this.channel.sent.length : 0;
    },
    drain(slow) {
      this.channel.slow = slow;
      this.channel.bufferedAmount = 0;
      this.channel.dispatchEvent(new Event("bufferedamountlow"));
    },
    pixels(x, y, w, h) {
      return b64(new Uint8Array(window.switchboardRemote.canvas().getContext("2d").getImageData(x, y, w, h).data.buffer));
    }
  };

  window.switchboardMedia = {
    viewerConnection(url, extra) {
      fake.url = url;
      fake.extra = extra;
      const ch = new FakeChannel();
      fake.channel = ch;
      const pc = new EventTarget();
      pc.connectionState = "connected";
      pc.close = () => { pc.connectionState = "closed"; };
      // Opened a little later, as a real channel is.
      setTimeout(() => {
        ch.readyState = "open";
        ch.dispatchEvent(new Event("open"));
      }, 0);
      return Promise.resolve({ pc, channel: ch });
    }
  };
  window.fakeWire = fake;
})();
