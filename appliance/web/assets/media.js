// Switchboard media: WebRTC connections to the appliance's gateway
// (appliance/rtc, docs/remote-control.md §3). Signalling is one POST: the
// page gathers its ICE candidates, posts the complete offer as JSON
// {sdp, ...extra} and sets the complete answer {sdp} it gets back. The
// appliance is the only peer, so there are no STUN or TURN servers.
//
//   switchboardMedia.publish(url, stream, extra)   → Promise<{pc, close()}>
//     sends the stream's tracks (a screen share, a presentation);
//   switchboardMedia.subscribe(url, video, extra)  → Promise<{pc, close()}>
//     receives a room's video and plays it in the <video> element;
//   switchboardMedia.viewerConnection(url, extra)  → Promise<{pc, channel}>
//     the viewer's ordered data channel "wire" (binaryType arraybuffer),
//     which may still be connecting when the promise resolves.
//
// A refused request rejects with an Error carrying the appliance's message
// ({"error": "..."}), which can be shown to people.
(() => {
  "use strict";

  // How long to wait for ICE gathering before sending the candidates found
  // so far.
  const GATHER_MS = 5000;

  // tr translates with the public site's table (portal.js), if the page
  // has one; elsewhere the English stays.
  const tr = (s) => (typeof window.switchboardT === "function" ? window.switchboardT(s) : s);
  const csrf = () => {
    if (window.switchboard && typeof window.switchboard.csrf === "function") {
      const t = window.switchboard.csrf();
      if (t) return t;
    }
    const m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  };

  // gathered resolves when pc has gathered its candidates, or after ms.
  const gathered = (pc, ms) => new Promise((resolve) => {
    let timer = 0;
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      pc.removeEventListener("icecandidate", last);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const last = (ev) => { if (!ev.candidate) done(); };
    timer = setTimeout(done, ms);
    pc.addEventListener("icegatheringstatechange", check);
    pc.addEventListener("icecandidate", last);
    check();
  });

  // post sends body as JSON and returns the JSON answer, or throws the
  // appliance's error message.
  const post = async (url, body) => {
    const resp = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await resp.json();
    } catch (e) {
      data = null;
    }
    if (!resp.ok) {
      throw new Error(data && typeof data.error === "string" && data.error
        ? data.error
        : tr("The appliance refused the connection.") + " (HTTP " + resp.status + ")");
    }
    if (!data || typeof data.sdp !== "string" || !data.sdp) {
      throw new Error(tr("The appliance sent no answer."));
    }
    return data;
  };

  // negotiate offers, posts the complete offer with extra, and sets the
  // answer. On failure it closes pc and rethrows.
  const negotiate = async (pc, url, extra) => {
    try {
      const offer = await pc.createOffer();
      const ready = gathered(pc, GATHER_MS);
      await pc.setLocalDescription(offer);
      await ready;
      const body = Object.assign({}, extra || {}, { sdp: pc.localDescription.sdp });
      const answer = await post(url, body);
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } catch (e) {
      pc.close();
      throw e;
    }
  };

  const newPC = () => new RTCPeerConnection({ iceServers: [] });

  const publish = async (url, stream, extra) => {
    const pc = newPC();
    for (const track of stream.getTracks()) {
      pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    }
    await negotiate(pc, url, extra);
    return { pc, close: () => pc.close() };
  };

  const subscribe = async (url, video, extra) => {
    const pc = newPC();
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.addEventListener("track", (ev) => {
      video.srcObject = ev.streams && ev.streams[0] ? ev.streams[0] : new MediaStream([ev.track]);
      // Muted, so that browsers let it play without a click.
      video.muted = true;
      video.playsInline = true;
      video.autoplay = true;
      const p = video.play();
      if (p && p.catch) p.catch(() => {});
    });
    await negotiate(pc, url, extra);
    return {
      pc,
      close: () => {
        pc.close();
        video.srcObject = null;
      },
    };
  };

  const viewerConnection = async (url, extra) => {
    const pc = newPC();
    const channel = pc.createDataChannel("wire", { ordered: true });
    channel.binaryType = "arraybuffer";
    await negotiate(pc, url, extra);
    return { pc, channel };
  };

  // connected resolves when pc is connected, and rejects with an Error
  // carrying message when it fails, closes or takes longer than ms.
  const connected = (pc, ms, message) => new Promise((resolve, reject) => {
    const check = () => {
      const st = pc.connectionState;
      if (st === "connected") done(true);
      else if (st === "failed" || st === "closed") done(false);
    };
    const done = (ok) => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", check);
      if (ok) resolve();
      else reject(new Error(message));
    };
    const timer = setTimeout(() => done(false), ms);
    pc.addEventListener("connectionstatechange", check);
    check();
  });

  window.switchboardMedia = Object.freeze({ publish, subscribe, viewerConnection, connected });
})();
