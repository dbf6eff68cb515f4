// An operator bot for Parley, over its gRPC API, in Node (@grpc/grpc-js): the
// same bot as examples/python/bot.py, to read top to bottom and adapt.
//
// What it does:
//  1. Logs in as the account owner (or takes an API token).
//  2. Makes sure a site, a department and a bot operator exist: it looks each one
//     up by name (paging through the lists) and creates what is missing. Every
//     create carries a request_id, so a create retried after a timeout makes one
//     thing, not two.
//  3. Logs in as the bot and opens its session stream (OperatorSession.Connect):
//     hello first, then waits for `ready`, goes online, takes the chats it is
//     given and answers every visitor message. "bye" ends the conversation.
//
// The .proto files are read at run time from the repository's proto/ folder
// (--proto-dir); google/protobuf/empty.proto and field_mask.proto come with
// protobufjs. Run (after `npm ci` in this folder):
//
//   node bot.js --server 127.0.0.1:50051 --email owner@parley.local \
//       --password '...' --origin https://shop.example
//
// Options can also come from the environment: PARLEY_SERVER, PARLEY_EMAIL,
// PARLEY_PASSWORD, PARLEY_TOKEN, PARLEY_CHAT_URL.
"use strict";

const crypto = require("node:crypto");
const path = require("node:path");
const { parseArgs } = require("node:util");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const protobuf = require("protobufjs");

const TIMEOUT_MS = 10_000; // for each unary call
const HOURS_ANSWER =
  "We are here around the clock; people answer Monday to Friday, 9:00 to 17:00.";

const env = process.env;
const { values: args } = parseArgs({
  options: {
    server: { type: "string", default: env.PARLEY_SERVER || "127.0.0.1:50051" },
    email: { type: "string", default: env.PARLEY_EMAIL || "" },
    password: { type: "string", default: env.PARLEY_PASSWORD || "" },
    token: { type: "string", default: env.PARLEY_TOKEN || "" },
    "site-name": { type: "string", default: "Example shop" },
    origin: { type: "string", default: "https://shop.example" },
    "department-name": { type: "string", default: "Support" },
    "bot-email": { type: "string", default: "echo-bot@shop.example" },
    "chat-url": { type: "string", default: env.PARLEY_CHAT_URL || "http://127.0.0.1:8080" },
    "max-chats": { type: "string", default: "0" }, // stop after N chats ended
    once: { type: "boolean", default: false },
    "proto-dir": { type: "string", default: path.join(__dirname, "..", "..", "proto") },
  },
});
if (!args.token && !(args.email && args.password)) {
  console.error("give --token, or --email and --password");
  process.exit(2);
}
const maxChats = args.once ? 1 : Number(args["max-chats"]);

// ---- The contract ------------------------------------------------------------------
// keepCase: field names as in the .proto (site_id); oneofs: each oneof's set
// member is named by a virtual field (event.event === "ready"); longs as strings.
const definition = protoLoader.loadSync(["parley/v1/control.proto", "parley/v1/operator.proto"], {
  includeDirs: [args["proto-dir"]],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const v1 = grpc.loadPackageDefinition(definition).parley.v1;
const clients = []; // closed at the end (an open client keeps the process alive)
const stub = (Service) => {
  const client = new Service(args.server, grpc.credentials.createInsecure());
  clients.push(client);
  return client;
};
const auth = stub(v1.Auth);
const sites = stub(v1.Sites);
const departments = stub(v1.Departments);
const operators = stub(v1.Operators);

// ---- Refusals ----------------------------------------------------------------------
// Every refusal carries a google.rpc.ErrorInfo in the grpc-status-details-bin
// trailer: its reason is Parley's error code in capitals ("ALREADY_EXISTS").
// Programs match the reason; the status message is for people. The trailer is a
// serialized google.rpc.Status; we read the fields we need by number with
// protobufjs's Reader rather than ship google/rpc/*.proto:
//   Status    { int32 code = 1; string message = 2; repeated Any details = 3; }
//   Any       { string type_url = 1; bytes value = 2; }
//   ErrorInfo { string reason = 1; string domain = 2; map<string,string> metadata = 3; }

function fields(bytes) {
  // Every (field number, value) of a message; length-delimited values as bytes.
  const reader = protobuf.Reader.create(bytes);
  const out = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    const number = tag >>> 3;
    if ((tag & 7) === 2) out.push([number, reader.bytes()]);
    else reader.skipType(tag & 7);
  }
  return out;
}

function reasonOf(error) {
  const trailer = error && error.metadata && error.metadata.get("grpc-status-details-bin");
  const details = trailer && trailer[0];
  if (!details) return "";
  for (const [number, any] of fields(details)) {
    if (number !== 3) continue; // Status.details
    const parts = new Map(fields(any));
    const typeUrl = Buffer.from(parts.get(1) || []).toString();
    if (!typeUrl.endsWith("/google.rpc.ErrorInfo")) continue;
    const reason = fields(parts.get(2) || new Uint8Array()).find(([n]) => n === 1);
    return reason ? Buffer.from(reason[1]).toString() : "";
  }
  return "";
}

// ---- Calls -------------------------------------------------------------------------

function call(client, method, request, meta) {
  // A unary call as a promise.
  const deadline = new Date(Date.now() + TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    client[method](request, meta || new grpc.Metadata(), { deadline }, (error, reply) =>
      error ? reject(error) : resolve(reply),
    );
  });
}

async function create(client, method, request, meta) {
  // A create with a request_id, retried with the same id when the answer was lost
  // (timeout, server restarting): the server makes the thing once.
  request.request_id = crypto.randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      return await call(client, method, request, meta);
    } catch (error) {
      const lost = [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(error.code);
      if (!lost || attempt === 2) throw error;
    }
  }
}

async function* pages(client, method, request, field, meta) {
  // Every item of a list, page by page: next_page_token is "" on the last.
  for (;;) {
    const reply = await call(client, method, request, meta);
    yield* reply[field];
    if (!reply.next_page_token) return;
    request = { ...request, page_token: reply.next_page_token };
  }
}

async function find(items, test) {
  for await (const item of items) if (test(item)) return item;
  return null;
}

async function login(email, password) {
  const reply = await call(auth, "Login", { email, password });
  const meta = new grpc.Metadata();
  meta.set("authorization", `Bearer ${reply.token}`);
  return meta;
}

// ---- Setting up: site, department, bot operator --------------------------------------

async function ensureSite(meta, name, origin) {
  let site = await find(pages(sites, "ListSites", {}, "sites", meta), (s) => s.name === name);
  if (!site) {
    try {
      const request = { site: { name, allowed_origins: [origin] } };
      return await create(sites, "CreateSite", request, meta);
    } catch (error) {
      if (reasonOf(error) !== "ALREADY_EXISTS") throw error;
      return ensureSite(meta, name, origin); // made meanwhile by someone else
    }
  }
  if (!site.allowed_origins.includes(origin)) {
    // An update names the fields it changes; the others keep their values.
    site.allowed_origins.push(origin);
    const request = { site, update_mask: { paths: ["allowed_origins"] } };
    site = await call(sites, "UpdateSite", request, meta);
  }
  return site;
}

async function ensureDepartment(meta, siteId, name) {
  const listing = pages(departments, "ListDepartments", { site_id: siteId }, "departments", meta);
  const found = await find(listing, (d) => d.name === name);
  if (found) return found;
  try {
    const request = { department: { site_id: siteId, name } };
    return await create(departments, "CreateDepartment", request, meta);
  } catch (error) {
    if (reasonOf(error) !== "ALREADY_EXISTS") throw error;
    return ensureDepartment(meta, siteId, name);
  }
}

async function ensureBot(meta, email, departmentId) {
  // The bot operator, made or found, with a fresh password; returns the password.
  const password = crypto.randomBytes(18).toString("base64url");
  let bot;
  try {
    const operator = {
      email,
      display_name: "Echo bot",
      role: "operator",
      department_ids: [departmentId],
    };
    bot = await create(operators, "CreateOperator", { operator, password, max_chats: 20 }, meta);
  } catch (error) {
    if (reasonOf(error) !== "ALREADY_EXISTS") throw error;
    // The email is taken: the bot of an earlier run. Find it and give it a new
    // password (this also ends the sessions an earlier run may have left).
    const listing = pages(operators, "ListOperators", {}, "operators", meta);
    bot = await find(listing, (o) => o.email === email);
    if (!bot) throw new Error(`${email} belongs to another account's operator`);
    await call(operators, "ResetPassword", { operator_id: bot.id, new_password: password }, meta);
  }
  // Chats come to the bot straight away (no offer to accept) from its department.
  const operator = {
    ...bot,
    auto_accept: true,
    auto_distribution: true,
    department_ids: [...new Set([...bot.department_ids, departmentId])],
  };
  const update_mask = { paths: ["auto_accept", "auto_distribution", "department_ids"] };
  await call(operators, "UpdateOperator", { operator, update_mask }, meta);
  return password;
}

// ---- The session stream ------------------------------------------------------------

function answerTo(text) {
  return text.toLowerCase().includes("hours") ? HOURS_ANSWER : `You said: ${text}`;
}

function runSession(meta, readyLine) {
  // Resolves when the bot is done (max chats ended, or stopped by a signal).
  return new Promise((resolve, reject) => {
    const stream = stub(v1.OperatorSession).Connect(meta);
    const send = (...commands) => stream.write({ commands });
    const mine = new Set(); // conversations assigned to the bot
    let done = 0;
    let me = ""; // the bot's operator id, from ready
    let online = false;
    let stopping = false;
    const stop = () => {
      stopping = true;
      stream.cancel();
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);

    const handlers = {
      ready(ready) {
        me = ready.operator_id;
        // Not online: the status an earlier run left.
        if (ready.status !== "online") send({ status: { status: "online" } });
      },
      presence(presence) {
        // The operators list: everyone's status once after ready, then each
        // change. Once it shows the bot online, chats can come.
        if (presence.operator_id === me && presence.status === "online" && !online) {
          online = true;
          console.log(readyLine);
        }
      },
      offered(offer) {
        // Only without auto_accept: take it.
        send({ answer: { conversation_id: offer.conversation_id, accept: true } });
      },
      assigned(chat) {
        mine.add(chat.conversation_id);
        console.log(`chat ${chat.conversation_id} with ${chat.visitor_name}`);
      },
      message(message) {
        if (message.author_kind !== "AUTHOR_KIND_VISITOR") return; // our replies come back too
        const conv = message.conversation_id;
        const bye = message.text.trim().toLowerCase().startsWith("bye");
        const commands = [
          { read: { conversation_id: conv, seq: message.seq } },
          // The client message id is ours to choose; one per answer, so a resent
          // command is stored once.
          {
            send: {
              conversation_id: conv,
              client_msg_id: `bot-reply-${message.seq}`,
              text: bye ? "Goodbye!" : answerTo(message.text),
            },
          },
        ];
        if (bye) commands.push({ close: { conversation_id: conv } });
        send(...commands); // one batch: handled in order
      },
      closed(closed) {
        if (!mine.delete(closed.conversation_id)) return;
        done += 1;
        console.log(`closed ${closed.conversation_id}`);
        if (maxChats && done >= maxChats) stop();
      },
      error(error) {
        console.error(`refused: ${error.code}: ${error.message}`);
      },
    };

    stream.on("data", (batch) => {
      for (const event of batch.events) {
        const handler = handlers[event.event];
        if (handler) handler(event[event.event]);
      }
    });
    stream.on("error", (error) => {
      if (!stopping) reject(new Error(`session ended: ${error.code} ${error.details}`));
    });
    stream.on("end", () => {
      if (!stopping) reject(new Error("session ended by the server"));
    });
    // hello must come first; it may name conversations to resume.
    send({ hello: { resume: [] } });
  });
}

// ---- Main --------------------------------------------------------------------------

async function main() {
  let admin;
  if (args.token) {
    admin = new grpc.Metadata();
    admin.set("authorization", `Bearer ${args.token}`);
  } else {
    admin = await login(args.email, args.password);
  }
  const site = await ensureSite(admin, args["site-name"], args.origin);
  const department = await ensureDepartment(admin, site.id, args["department-name"]);
  const password = await ensureBot(admin, args["bot-email"], department.id);
  const base = args["chat-url"].replace(/\/+$/, "");
  console.log(`site: ${site.id}`);
  console.log(`department: ${department.id}`);
  console.log(`widget: <script src="${base}/widget.js" data-site="${site.id}" async></script>`);
  console.log(`visitor websocket: ${base.replace("http", "ws")}/v1/visitor?site=${site.id}`);

  const botMeta = await login(args["bot-email"], password);
  await runSession(botMeta, `ready: ${args["bot-email"]} takes chats on site ${site.id}`);
  clients.forEach(grpc.closeClient);
  console.log("stopped");
}

main().catch((error) => {
  const reason = reasonOf(error) || (error.code !== undefined ? grpc.status[error.code] : "");
  console.error(`refused (${reason}): ${error.details || error.message}`);
  process.exit(1);
});
