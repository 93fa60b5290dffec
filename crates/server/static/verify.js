// Checks an entry's inclusion proof against the region's signed checkpoint in the
// browser itself: RFC 6962 hashing with WebCrypto SHA-256, the C2SP signed note's
// Ed25519 signature with WebCrypto Ed25519, and the key against the region's
// published verifier key. Every word shown comes from the page (#verify-msgs).

const msgs = document.getElementById("verify-msgs")?.dataset ?? {};
// The region's witnesses and the quorum it asks for (none: no cosignature required).
const wEl = document.getElementById("verify-witnesses")?.dataset ?? {};
const witnesses = {
  quorum: Number(wEl.quorum ?? 0),
  vkeys: (wEl.vkeys ?? "").split(" ").filter((v) => v),
};
const enc = new TextEncoder();

function fill(text, ...args) {
  let i = 0;
  return text.replace(/\{\}/g, () => String(args[i++]));
}

function b64(s) {
  const bin = atob(s.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function same(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const leafHash = (leaf) => sha256(concat(new Uint8Array([0]), leaf));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));

// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or null.
async function rootFromProof(hash, index, size, proof) {
  if (index >= size) return null;
  let fn = index, sn = size - 1n, r = hash;
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

// A C2SP signed note: the text (ending in "\n") and its signature lines.
function openNote(note) {
  if (!note.endsWith("\n")) throw new Error("note");
  const body = note.slice(0, -1);
  const split = body.lastIndexOf("\n\n");
  if (split < 0) throw new Error("note");
  const text = note.slice(0, split + 1);
  const sigs = body.slice(split + 2).split("\n").map((line) => {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) throw new Error("note");
    const raw = b64(m[2]);
    return { name: m[1], keyId: raw.slice(0, 4), sig: raw.slice(4) };
  });
  const lines = text.split("\n");
  return { text, origin: lines[0], size: BigInt(lines[1]), root: b64(lines[2]), sigs };
}

// `<name>+<8 hex key id>+<base64(type || 32-byte Ed25519 key)>`: type 0x01 for the
// region's note key, 0x04 for a witness's cosignature/v1 key.
async function parseVkey(vkey, type = 1) {
  // The base64 key may itself hold '+': split at the first two only.
  const m = /^([^+]+)\+([0-9a-fA-F]{8})\+(.+)$/.exec(vkey.trim());
  if (!m) throw new Error("vkey");
  const [, name, id, key] = m;
  const raw = b64(key);
  if (raw.length !== 33 || raw[0] !== type) throw new Error("vkey");
  const keyId = (await sha256(concat(enc.encode(name + "\n"), raw))).slice(0, 4);
  if (hex(keyId) !== id.toLowerCase()) throw new Error("vkey");
  return { name, keyId, pub: raw.slice(1) };
}

// Runs every check; returns [{ok, text}] in order, and whether all passed.
async function check({ leaf, index, treeSize, proof, note, vkey }) {
  const out = [];
  const lh = await leafHash(leaf);
  out.push({ ok: true, text: `${msgs.leaf} ${hex(lh)}` });
  const cp = openNote(note);
  const root = await rootFromProof(lh, index, treeSize ?? cp.size, proof);
  const pathOk = root !== null && (treeSize === undefined || treeSize === cp.size);
  out.push({ ok: pathOk, text: fill(msgs.path, proof.length, cp.size) });
  const rootOk = pathOk && same(root, cp.root);
  out.push({ ok: rootOk, text: `${msgs.root} ${hex(cp.root)}` });
  const key = await parseVkey(vkey);
  const sig = cp.sigs.find((s) => s.name === key.name && same(s.keyId, key.keyId));
  let sigOk = false;
  if (sig) {
    const k = await crypto.subtle.importKey("raw", key.pub, { name: "Ed25519" }, false, ["verify"]);
    sigOk = await crypto.subtle.verify({ name: "Ed25519" }, k, sig.sig, enc.encode(cp.text));
  }
  out.push({ ok: sigOk, text: `${msgs.sig} ${key.name}` });
  out.push({ ok: sigOk, text: `${msgs.key} ${vkey.trim()}` });
  // c2sp.org/tlog-cosignature: each named witness's line, an Ed25519 signature over
  // "cosignature/v1\ntime <t>\n" and the checkpoint, after an 8-byte timestamp.
  if (witnesses.quorum > 0) {
    let count = 0;
    for (const w of witnesses.vkeys) {
      const wk = await parseVkey(w, 4);
      const line = cp.sigs.find((s) => s.name === wk.name && same(s.keyId, wk.keyId));
      if (!line) continue;
      // A named witness's line that does not verify fails the check (signed-note).
      let good = line.sig.length === 72;
      const time = good ? new DataView(line.sig.buffer, line.sig.byteOffset, 8).getBigUint64(0) : 0n;
      good = good && time > 0n && time < 2n ** 63n;
      if (good) {
        const k = await crypto.subtle.importKey("raw", wk.pub, { name: "Ed25519" }, false, ["verify"]);
        const msg = enc.encode(`cosignature/v1\ntime ${time}\n${cp.text}`);
        good = await crypto.subtle.verify({ name: "Ed25519" }, k, line.sig.slice(8), msg);
      }
      if (!good) {
        out.push({ ok: false, text: `${msgs.witnessBad} ${wk.name}` });
        return { steps: out, all: false, index, size: cp.size };
      }
      count++;
    }
    const enough = count >= witnesses.quorum;
    out.push({
      ok: enough,
      text: fill(enough ? msgs.witnessed : msgs.unwitnessed, count, witnesses.quorum),
    });
  }
  return { steps: out, all: out.every((s) => s.ok), index, size: cp.size };
}

// The answer in words a villager reads first (where the entry is in the public
// ledger, or which check failed), a mark on the entry, the link to the public
// check, then each step that was checked.
function show(el, result) {
  el.replaceChildren();
  const head = document.createElement("p");
  head.className = result.all ? "ok" : "error";
  head.id = result.all ? "verify-ok" : "verify-bad";
  const failed = result.steps.find((s) => !s.ok);
  head.textContent = result.all
    ? fill(msgs.ok, result.index, result.size)
    : `${msgs.bad} ${failed ? failed.text : ""}`;
  const mark = document.getElementById("verified-mark");
  if (mark) {
    mark.hidden = false;
    mark.className = result.all ? "ok" : "error";
    mark.textContent = result.all ? msgs.markOk : msgs.markBad;
  }
  const link = document.createElement("p");
  const a = document.createElement("a");
  a.href = msgs.publicUrl;
  a.textContent = msgs.public;
  link.append(a);
  const title = document.createElement("p");
  title.className = "small muted";
  title.textContent = msgs.steps;
  const list = document.createElement("ol");
  list.className = "checks";
  for (const s of result.steps) {
    const li = document.createElement("li");
    li.className = s.ok ? "pass" : "fail";
    li.textContent = s.text;
    list.append(li);
  }
  const not = document.createElement("li");
  not.className = "info";
  not.textContent = msgs.not;
  list.append(not);
  el.append(head, link, title, list);
}

function fail(el, text, detail) {
  el.replaceChildren();
  const p = document.createElement("p");
  p.className = "error";
  p.id = "verify-bad";
  p.textContent = `${msgs.bad} ${text}`;
  el.append(p);
  if (detail) {
    const d = document.createElement("p");
    d.className = "small muted";
    d.lang = "en";
    d.textContent = String(detail);
    el.append(d);
  }
}

async function run(el, input) {
  el.textContent = msgs.running;
  if (!globalThis.crypto?.subtle) return fail(el, msgs.nocrypto);
  try {
    show(el, await check(input));
  } catch (e) {
    const crypto = e && (e.name === "NotSupportedError" || e.name === "DataError");
    fail(el, crypto ? msgs.nocrypto : msgs.parse, e && e.message);
  }
}

// The entry page: the proof the server embedded, the region's published key.
const button = document.getElementById("verify-button");
const proofEl = document.getElementById("proof");
if (button && proofEl) {
  const el = document.getElementById("verify-result");
  const p = JSON.parse(proofEl.textContent);
  const input = () => ({
    leaf: b64(p.leaf_base64),
    index: BigInt(p.index),
    // The proof is against the embedded checkpoint; its own size is the tree size.
    treeSize: undefined,
    proof: p.inclusion_proof.map(b64),
    note: p.checkpoint,
    vkey: document.getElementById("verify-key").dataset.vkey,
  });
  button.hidden = false;
  button.addEventListener("click", () => run(el, input()));
  if (button.dataset.auto === "true") run(el, input());
}

// The transparency page: a pasted c2sp.org/tlog-proof@v1 receipt.
const form = document.getElementById("receipt-form");
if (form) {
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const el = document.getElementById("verify-result");
    try {
      const text = document.getElementById("receipt").value.replace(/\r\n/g, "\n");
      const split = text.indexOf("\n\n");
      if (split < 0) throw new Error("receipt");
      const lines = text.slice(0, split).split("\n");
      if (lines.shift() !== "c2sp.org/tlog-proof@v1") throw new Error("receipt");
      let leaf = null;
      if (lines[0]?.startsWith("extra ")) leaf = b64(lines.shift().slice(6));
      const idx = /^index (\d+)$/.exec(lines.shift() ?? "");
      if (!idx || leaf === null) throw new Error("receipt");
      run(el, {
        leaf,
        index: BigInt(idx[1]),
        treeSize: undefined,
        proof: lines.map(b64),
        note: text.slice(split + 2),
        vkey: form.dataset.vkey,
      });
    } catch (e) {
      fail(el, msgs.parse);
    }
  });
}
