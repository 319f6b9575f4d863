// Switchboard remote control, files both ways (docs/remote-control.md,
// "Files"): offers, resumable sending checked by SHA-256, receiving into
// a download link, and the list that shows each transfer.
import { encode, MAX_CHUNK } from "./remote-wire.js";
import { el, button, sizeText, percent, safeName, sameBytes, Sha256, sha256 } from "./remote-util.js";

const CLIENT_BIT = 0x80000000; // the client's transfer IDs have it; ours do not
const MAX_INCOMING = 2 * 1024 * 1024 * 1024;
const READ_BLOCK = 1 << 20;

// Transfers are the file transfers of one viewer. io gives it the viewer:
// send(frame) → bool, drained() (a promise: the network took what was
// sent), note(text, bad), isOpen(), list (the <ul> of transfers) and
// picked() (the customer sent the file this technician asked for).
export class Transfers {
  constructor(io) {
    this.io = io;
    this.transfers = new Map(); // key "out:ID" or "in:ID" → transfer
    // Each browser starts at a random id, so two technicians' offers do not
    // collide (the relay refuses an id another technician holds).
    this.nextID = 1 + Math.floor(Math.random() * 0x3fffffff);
    this.pickAsked = 0; // offers to accept without asking: one per pick-file asked
  }

  // expectPick counts a pick-file request; resetPicks forgets them.
  expectPick() { this.pickAsked++; }
  resetPicks() { this.pickAsked = 0; }

  transferEl(t) {
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
    t.cancel = button("Cancel", "danger small", () => this.cancel(t));
    t.actions.append(t.cancel);
    li.append(head, t.bar, t.text, t.actions);
    t.li = li;
    this.io.list.prepend(li);
  }

  progress(t) {
    t.bar.value = t.done;
    if (t.state === "sending" || t.state === "receiving") {
      t.text.textContent = percent(t.done, t.size) + " % " + (t.out ? "sent" : "received");
    }
  }

  finish(t, state, msg) {
    t.state = state;
    t.text.textContent = msg;
    t.li.classList.add(state);
    t.cancel.hidden = true;
    if (state === "done") t.bar.value = t.bar.max;
    if (!t.out) t.parts = [];
  }

  cancel(t) {
    if (t.state !== "offered" && t.state !== "sending" && t.state !== "receiving" && t.state !== "confirming") return;
    this.io.send(encode.fileCancel(t.id, t.out ? "The technician cancelled sending the file." : "The technician cancelled receiving the file."));
    this.finish(t, "cancelled", "Cancelled.");
  }

  // lost fails what was under way: the connection closed.
  lost() {
    for (const t of this.transfers.values()) {
      if (t.state === "sending" || t.state === "offered" || t.state === "receiving" || t.state === "confirming") {
        this.finish(t, "failed", t.out
          ? "Connection lost after " + percent(t.done, t.size) + " %: send it again to resume."
          : "Connection lost after " + percent(t.done, t.size) + " %: ask for the file again.");
      }
    }
  }

  offer(file) {
    if (!this.io.isOpen()) {
      this.io.note("Not connected: select View screen first.", true);
      return;
    }
    const t = { out: true, id: this.nextID++, file, name: safeName(file.name), size: file.size, done: 0, state: "offered" };
    if (this.nextID >= CLIENT_BIT) this.nextID = 1;
    this.transfers.set("out:" + t.id, t);
    this.transferEl(t);
    if (!this.io.send(encode.fileOffer(t.id, t.name, t.size))) {
      this.finish(t, "failed", "Not sent: the connection is closed. Connect again and send it.");
      return;
    }
    t.text.textContent = "Waiting for the customer to accept…";
  }

  answer(id, accept, offset) {
    const t = this.transfers.get("out:" + id);
    if (!t || t.state !== "offered") return;
    if (!accept) {
      this.finish(t, "refused", "The customer refused the file.");
      return;
    }
    t.state = "sending";
    this.sendFile(t, Math.min(offset, t.size)).catch((e) => {
      if (t.state === "sending") {
        this.io.send(encode.fileCancel(t.id, "The technician's browser could not read the file."));
        this.finish(t, "failed", "Stopped after " + percent(t.done, t.size) + " %: the browser could not read the file (" + e.message + "). Choose it again.");
      }
    });
  }

  // sendFile hashes the part the customer has, then sends the rest in
  // chunks, never more than the network takes, and the SHA-256 of all.
  async sendFile(t, offset) {
    const hash = new Sha256();
    t.done = offset;
    this.progress(t);
    let pos = 0;
    while (pos < t.size) {
      const end = Math.min(t.size, pos + READ_BLOCK);
      const block = new Uint8Array(await t.file.slice(pos, end).arrayBuffer());
      if (block.length !== end - pos) throw new Error("the file changed while it was sent");
      hash.update(block);
      for (let o = Math.max(offset - pos, 0); o < block.length; o += MAX_CHUNK) {
        await this.io.drained();
        if (t.state !== "sending") return;
        const data = block.subarray(o, Math.min(o + MAX_CHUNK, block.length));
        if (!this.io.send(encode.fileChunk(t.id, pos + o, data))) return; // disconnect reports it
        t.done = pos + o + data.length;
        this.progress(t);
      }
      pos = end;
    }
    if (t.state !== "sending") return;
    t.sum = hash.digest();
    if (!this.io.send(encode.fileDone(t.id, t.sum))) return;
    t.state = "confirming";
    t.bar.value = t.bar.max;
    t.text.textContent = "Sent; the customer's computer is checking it…";
  }

  offered(id, name, size) {
    if (!(id & CLIENT_BIT) || this.transfers.has("in:" + id)) return;
    const t = { out: false, id, name: safeName(name), size, done: 0, state: "offered", parts: [] };
    this.transfers.set("in:" + t.id, t);
    this.transferEl(t);
    if (size > MAX_INCOMING) {
      this.io.send(encode.fileAnswer(id, false, 0));
      this.finish(t, "refused", "Too large to receive in the browser (more than 2 GiB).");
      return;
    }
    if (this.pickAsked > 0) {
      this.pickAsked--;
      this.receive(t);
      this.io.picked();
      return;
    }
    // Offered without this technician asking: receive only on request.
    t.text.textContent = "The customer offers this file.";
    const take = button("Receive", "secondary small", () => {
      take.remove();
      if (t.state === "offered") this.receive(t);
    });
    t.actions.prepend(take);
  }

  receive(t) {
    if (!this.io.send(encode.fileAnswer(t.id, true, 0))) {
      this.finish(t, "failed", "Not connected: ask for the file again.");
      return;
    }
    t.state = "receiving";
    this.progress(t);
  }

  chunk(id, offset, data) {
    const t = this.transfers.get("in:" + id);
    if (!t || t.state !== "receiving") return;
    if (offset !== t.done || t.done + data.length > t.size) {
      const why = offset !== t.done ? "parts of the file arrived out of order" : "more arrived than the file's size";
      this.io.send(encode.fileCancel(t.id, "The technician's browser stopped the transfer: " + why + ". Send it again."));
      this.finish(t, "failed", "Stopped: " + why + ". Ask for the file again.");
      return;
    }
    t.parts.push(data);
    t.done += data.length;
    this.progress(t);
  }

  done(id, sum) {
    if (id & CLIENT_BIT) {
      this.received(this.transfers.get("in:" + id), sum);
      return;
    }
    const t = this.transfers.get("out:" + id);
    if (!t || t.state !== "confirming") return;
    if (sameBytes(sum, t.sum)) this.finish(t, "done", "Delivered: the file is on the customer's computer.");
    else this.finish(t, "failed", "The customer's computer got a different file (checksum mismatch). Send it again.");
  }

  async received(t, sum) {
    if (!t || t.state !== "receiving") return;
    if (t.done !== t.size) {
      this.io.send(encode.fileCancel(t.id, "The file arrived incomplete. Send it again."));
      this.finish(t, "failed", "Incomplete: " + sizeText(t.done) + " of " + sizeText(t.size) + " arrived. Ask for the file again.");
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
      this.io.send(encode.fileCancel(t.id, "The file arrived damaged (checksum mismatch). Send it again."));
      this.finish(t, "failed", "The file arrived damaged (checksum mismatch). Ask for it again.");
      return;
    }
    this.io.send(encode.fileDone(t.id, sum)); // confirmation
    this.finish(t, "done", "Received and checked.");
    const a = el("a", "button small remote-download", "Save " + t.name);
    a.href = URL.createObjectURL(blob);
    a.download = t.name;
    t.actions.append(a);
  }

  cancelled(id, reason) {
    const t = this.transfers.get((id & CLIENT_BIT ? "in:" : "out:") + id);
    if (!t || t.state === "done" || t.state === "failed" || t.state === "cancelled" || t.state === "refused") return;
    this.finish(t, "failed", "Stopped: " + (reason || "the customer's computer cancelled the transfer."));
  }
}
