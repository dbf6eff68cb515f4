// Files in the open chat (README "Attachments"): a message carrying an
// attachment shows an image as a preview and any file as a link that
// downloads it; the paper clip beside Send, or a file dropped on the chat,
// sends one over the edge's upload websocket with this console's token, a
// bar saying how far it is and a refusal in words. Files are read with the
// token in a header (never in a URL), so previews are object URLs, kept per
// file while the page lives.
import {h} from "./dom.js";

const TOKEN_KEY = "parley.console.token";
const PIECE = 60 * 1024;  // bytes per frame, under the edge's limit
const urls = new Map();  // "<chat>/<sha256>[/inline]" -> a promise of an object URL

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function fetchFile(chatId, a, inline) {
  const key = chatId + "/" + a.sha256 + (inline ? "/inline" : "");
  if (!urls.has(key)) {
    const url = "/v1/files/" + encodeURIComponent(chatId) + "/" + a.sha256 + (inline ? "?inline=1" : "");
    urls.set(key, fetch(url, {headers: {Authorization: "Bearer " + token()}})
      .then((r) => { if (!r.ok) throw new Error(String(r.status)); return r.blob(); })
      .then((blob) => URL.createObjectURL(blob))
      .catch((err) => { urls.delete(key); throw err; }));
  }
  return urls.get(key);
}

function size(n) {
  const bytes = Number(n);
  return bytes < 1024 ? bytes + " B" : bytes < 1048576 ? Math.ceil(bytes / 1024) + " KB" : (bytes / 1048576).toFixed(1) + " MB";
}

/** The body of a file's message: a preview for an image, a download link. */
export function attachmentView(chatId, a) {
  const link = h("a", {href: "#", class: "file-link", download: a.name,
    onclick: (ev) => {
      ev.preventDefault();
      fetchFile(chatId, a, false).then((u) => h("a", {href: u, download: a.name}).click(), () => {});
    }}, a.name + " (" + size(a.size) + ")");
  const out = h("div", {class: "attachment"}, link);
  if (/^image\//.test(a.content_type)) {
    const img = h("img", {class: "preview", alt: a.name});
    fetchFile(chatId, a, true).then((u) => { img.src = u; }, () => img.remove());
    out.prepend(img);
  }
  return out;
}

function paperclip() {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  const path = document.createElementNS(NS, "path");
  for (const [k, v] of Object.entries({viewBox: "0 0 24 24", width: 18, height: 18, fill: "none", stroke: "currentColor",
    "stroke-width": 2, "stroke-linecap": "round", "aria-hidden": "true"})) svg.setAttribute(k, v);
  path.setAttribute("d", "M21 11l-9 9a5 5 0 0 1-7-7l9-9a3 3 0 0 1 4 4l-9 9a1 1 0 0 1-2-2l8-8");
  svg.append(path);
  return svg;
}

/** Send ``file`` to the chat; ``note(text)`` shows how it goes. */
export function upload(chatId, file, note) {
  const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/v1/upload");
  ws.binaryType = "arraybuffer";
  ws.onopen = () => ws.send(JSON.stringify({token: token(), as: "operator", conversation: chatId,
    name: file.name, size: file.size, cid: "f" + Date.now().toString(36) + Math.random().toString(36).slice(2, 6)}));
  ws.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.type === "ready") {
      file.arrayBuffer().then((bytes) => { for (let at = 0; at < bytes.byteLength; at += PIECE) ws.send(bytes.slice(at, at + PIECE)); });
      note(file.name + ": 0%");
    } else if (f.type === "progress") {
      note(file.name + ": " + Math.floor((100 * f.received) / file.size) + "%");
    } else if (f.type === "done") {
      note("");
    } else if (f.type === "error") {
      note(file.name + ": " + f.message);
    }
  };
}

/** The paper clip beside Send, and dropping a file on the chat. */
export function wireAttachments(openChat) {
  const status = h("span", {class: "upload-status", role: "status", "aria-live": "polite"});
  const picker = h("input", {type: "file", hidden: true});
  const clip = h("button", {type: "button", id: "attach", class: "attach", "aria-label": "Attach a file", title: "Attach a file"}, paperclip());
  const send = (file) => {
    const id = openChat();
    if (id && file) upload(id, file, (text) => { status.textContent = text; });
  };
  clip.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => { send(picker.files[0]); picker.value = ""; });
  document.getElementById("send").before(status, clip, picker);
  const area = document.getElementById("chat-body");
  area.addEventListener("dragover", (ev) => {
    if (!openChat() || document.getElementById("composer-form").hidden) return;
    ev.preventDefault(); area.classList.add("dropping");
  });
  area.addEventListener("dragleave", () => area.classList.remove("dropping"));
  area.addEventListener("drop", (ev) => {
    area.classList.remove("dropping");
    if (!ev.dataTransfer || !ev.dataTransfer.files.length || document.getElementById("composer-form").hidden) return;
    ev.preventDefault();
    send(ev.dataTransfer.files[0]);
  });
}
