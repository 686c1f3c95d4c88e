// A handheld-side gridcase client written from the published contract only: schema/README.md,
// schema/case-document.schema.json (GET /v1/schema/case-document.json), schema/examples/ and
// the OpenAPI document (GET /v1/openapi.json). It starts the real server, then checks that a
// non-Rust client can receive a case, append an event, create a case, write a kind a later
// release adds, and that the README's pitfalls (strings as text objects, integers in object
// literals, dates, unbound actors, forbidden kinds) are refused with the notice codes it names.
// Ends with one line "conformance: P passed, F failed in Ss".

import * as A from "@automerge/automerge";
import Ajv2020 from "ajv/dist/2020.js";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const SERVER_BIN = resolve(ROOT, process.env.GRIDCASE_SERVER_BIN ?? "target/debug/gridcase-server");
const PASSWORD = "conformance-demo-password";
const SCHEMA_PATH = join(ROOT, "schema", "case-document.schema.json");
const EXAMPLES_DIR = join(ROOT, "schema", "examples");

// ---------------------------------------------------------------------------------------------
// The server: started exactly like tests/python/conftest.py does.

class Server {
  static async start() {
    const tmp = mkdtempSync(join(tmpdir(), "gridcase-conformance-"));
    const proc = spawn(SERVER_BIN, ["--listen", "127.0.0.1:0", "--demo", "--data-dir", join(tmp, "ledger")], {
      env: { ...process.env, GRIDCASE_DEMO_PASSWORD: PASSWORD, RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const server = new Server(proc, tmp);
    const listening = new Promise((resolveUrl, reject) => {
      const lines = createInterface({ input: proc.stdout });
      let found = false;
      lines.on("line", (line) => {
        if (!found && line.includes("http://")) {
          found = true;
          resolveUrl("http://" + line.split("http://")[1].trim());
        }
      });
      // Keeps reading stdout (the server must never block on a full pipe).
      lines.on("close", () => found || reject(new Error("gridcase-server did not start")));
      proc.on("error", reject);
      proc.on("exit", (code) => found || reject(new Error(`gridcase-server exited (${code}) before listening`)));
    });
    try {
      server.url = await listening;
    } catch (err) {
      server.stop();
      throw err;
    }
    return server;
  }

  constructor(proc, tmp) {
    this.proc = proc;
    this.tmp = tmp;
  }

  async request(method, path, { token, body, headers = {}, raw = false } = {}) {
    const h = { ...headers };
    let data;
    if (body !== undefined) {
      if (body instanceof Uint8Array) data = body;
      else {
        data = JSON.stringify(body);
        h["content-type"] = "application/json";
      }
    }
    if (token) h.authorization = "Bearer " + token;
    const resp = await fetch(this.url + path, { method, headers: h, body: data });
    const bytes = new Uint8Array(await resp.arrayBuffer());
    if (raw && resp.ok) return { status: resp.status, bytes, headers: resp.headers };
    const text = new TextDecoder().decode(bytes);
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: resp.status, body: json, headers: resp.headers };
  }

  async login(username, deviceId) {
    const body = { username, password: PASSWORD };
    if (deviceId) body.device_id = deviceId;
    const r = await this.request("POST", "/v1/auth/login", { body });
    expect(r.status === 200, `login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.access_token;
  }

  stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill("SIGKILL");
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The sync batch (schema/README.md, "The sync batch (version 1)").

const MAGIC = [0x47, 0x43, 0x53, 0x42]; // "GCSB"
const VERSION = 0x01;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

function writeLeb(out, n) {
  let v = BigInt(n);
  if (v < 0n) throw new RangeError("LEB128 of a negative number");
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
}

function writeBytes(out, bytes) {
  writeLeb(out, bytes.length);
  for (const b of bytes) out.push(b);
}

/** batch = "GCSB" 0x01 flags cursor count entry*count notices */
export function encodeBatch({ more = false, cursor = 0, entries = [], notices = [] }) {
  const out = [...MAGIC, VERSION, more ? 1 : 0];
  writeLeb(out, cursor);
  writeLeb(out, entries.length);
  for (const { caseId, message } of entries) {
    writeBytes(out, utf8.encode(caseId));
    writeBytes(out, message ?? new Uint8Array(0));
  }
  writeLeb(out, notices.length);
  for (const { caseId, code, text } of notices) {
    writeBytes(out, utf8.encode(caseId));
    writeBytes(out, utf8.encode(code));
    writeBytes(out, utf8.encode(text));
  }
  return Uint8Array.from(out);
}

export function decodeBatch(bytes) {
  let pos = 0;
  const need = (n) => {
    if (pos + n > bytes.length) throw new Error(`batch truncated at byte ${pos}`);
  };
  const leb = () => {
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      need(1);
      const b = bytes[pos++];
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error("LEB128 integer above 2^53");
        return Number(v);
      }
    }
    throw new Error("LEB128 integer longer than 10 bytes");
  };
  const chunk = () => {
    const n = leb();
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const str = () => fromUtf8.decode(chunk());
  need(6);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) throw new Error("not a GCSB batch");
  pos = 4;
  if (bytes[pos++] !== VERSION) throw new Error(`batch version ${bytes[4]}`);
  const flags = bytes[pos++];
  if (flags & ~1) throw new Error(`unknown batch flags ${flags}`);
  const cursor = leb();
  const entries = [];
  for (let n = leb(); n > 0; n--) entries.push({ caseId: str(), message: Uint8Array.from(chunk()) });
  const notices = [];
  for (let n = leb(); n > 0; n--) notices.push({ caseId: str(), code: str(), text: str() });
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} bytes after the batch`);
  return { more: (flags & 1) === 1, cursor, entries, notices };
}

// ---------------------------------------------------------------------------------------------
// Ids, values, the JSON view.

/** A UUIDv7 as 32 lowercase hex digits, no dashes. */
function uuid7(ms = Date.now()) {
  const b = randomBytes(16);
  let t = BigInt(ms);
  for (let i = 5; i >= 0; i--) {
    b[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  return b.toString("hex");
}

const S = (s) => new A.ImmutableString(s);

/** The document as the schema describes it: strings as strings, integers as numbers. */
function jsonView(value) {
  if (value === null || value === undefined) return value;
  if (A.isImmutableString(value)) return value.toString();
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(jsonView);
  if (typeof value === "object") {
    const out = {};
    for (const k of Object.keys(value)) out[k] = jsonView(value[k]);
    return out;
  }
  return value;
}

/** `parents` of a new event: the ids of the seen events no other seen event names as a parent. */
function frontier(doc) {
  const events = (doc.events ?? []).map((e) => ({ id: String(e.id), parents: JSON.parse(String(e.parents)) }));
  const named = new Set(events.flatMap((e) => e.parents));
  return events
    .map((e) => e.id)
    .filter((id) => !named.has(id))
    .sort();
}

// ---------------------------------------------------------------------------------------------
// A handheld: one actor, one registered device, one automerge document and sync state per case.

class Handheld {
  constructor(server, username) {
    this.server = server;
    this.username = username;
    this.actor = randomBytes(16).toString("hex");
    this.docs = new Map();
    this.syncStates = new Map(); // encoded between conversations (sharedHeads only)
    this.cursor = 0;
    this.refused = new Map(); // case -> its heads when refused: not resent until it changes
  }

  async signIn() {
    const token = await this.server.login(this.username);
    const r = await this.server.request("POST", "/v1/devices", {
      token,
      body: { name: `conformance ${this.username}`, actors: [this.actor] },
    });
    expect(r.status === 201, `POST /v1/devices: ${r.status} ${JSON.stringify(r.body)}`);
    this.device = r.body.device.id;
    expect(r.body.device.actors.includes(this.actor), "the device answer names our actor");
    this.token = r.body.tokens.access_token;
    const me = await this.server.request("GET", "/v1/me", { token: this.token });
    expect(me.status === 200, `GET /v1/me: ${me.status}`);
    this.me = me.body;
    expect(this.me.device === this.device, `GET /v1/me names the device (${this.me.device})`);
    return this;
  }

  /** The envelope of a new event: every field a string scalar except `at`. */
  envelope(doc, kind, payload, at) {
    return {
      id: S(uuid7(at)),
      kind: S(kind),
      author: S(this.me.user),
      device: S(this.device),
      role: S(this.me.role),
      scope: S(JSON.stringify(this.me.scope)),
      at, // a whole JS number: automerge `int`
      parents: S(JSON.stringify(doc ? frontier(doc) : [])),
      payload: S(JSON.stringify(payload)),
    };
  }

  /** A new case: header, both lists and the intake in one change. */
  createCase(intake, at = Date.now()) {
    const caseId = uuid7(at);
    let doc = A.init({ actor: this.actor });
    const event = this.envelope(null, "intake", intake, at);
    doc = A.change(doc, { time: Math.floor(at / 1000) }, (d) => {
      // Field by field: automerge JS >= 3.2.5 writes an Int/Uint nested in an object literal
      // as a map {value: n} (see schema/README.md, pitfalls).
      d.header = {};
      d.header.schema = new A.Uint(1);
      d.header.case = S(caseId);
      d.header.created_by = S(this.me.user);
      d.header.device = S(this.device);
      d.header.created_at = at;
      d.events = [];
      d.attachments = [];
      d.events.push(event);
    });
    this.docs.set(caseId, doc);
    return { caseId, eventId: String(event.id) };
  }

  /** Appends one event in one change. `override` replaces envelope fields (the pitfall check). */
  append(caseId, kind, payload, { at = Date.now(), override = {} } = {}) {
    let doc = this.docs.get(caseId);
    const event = { ...this.envelope(doc, kind, payload, at), ...override };
    doc = A.change(doc, { time: Math.floor(at / 1000) }, (d) => {
      d.events.push(event);
    });
    this.docs.set(caseId, doc);
    return String(event.id);
  }

  /** One sync conversation (README, "When a sync is finished"). Returns every notice. */
  async sync({ maxRounds = 50 } = {}) {
    const states = new Map();
    for (const id of this.docs.keys()) {
      const saved = this.syncStates.get(id);
      states.set(id, saved ? A.decodeSyncState(saved) : A.initSyncState());
    }
    const heads = (id) => A.getHeads(this.docs.get(id)).sort().join(",");
    // The cases this device asks about: all it holds but the refused ones not changed since.
    const active = new Set([...this.docs.keys()].filter((id) => this.refused.get(id) !== heads(id)));
    const notices = [];
    let cursor = this.cursor;
    let rounds = 0;
    let first = true;
    let more = false;
    for (;;) {
      const entries = [];
      for (const id of active) {
        const [state, message] = A.generateSyncMessage(this.docs.get(id), states.get(id));
        states.set(id, state);
        if (message) entries.push({ caseId: id, message });
      }
      if (!first && entries.length === 0 && !more) break;
      first = false;
      if (++rounds > maxRounds) throw new Error(`sync did not finish in ${maxRounds} rounds`);
      const r = await this.server.request("POST", "/v1/sync", {
        token: this.token,
        body: encodeBatch({ cursor, entries }),
        headers: { "content-type": "application/x-gridcase-sync" },
        raw: true,
      });
      if (r.status !== 200) throw new Error(`POST /v1/sync: ${r.status} ${JSON.stringify(r.body)}`);
      const answer = decodeBatch(r.bytes);
      cursor = answer.cursor;
      more = answer.more;
      for (const { caseId, message } of answer.entries) {
        if (message.length === 0) continue;
        let doc = this.docs.get(caseId);
        let state = states.get(caseId);
        if (!active.has(caseId)) {
          // Offered from the feed: whole, for a fresh sync state; needs no reply.
          doc ??= A.init({ actor: this.actor }); // our actor: we may write to it later
          state = A.initSyncState();
        }
        [doc, state] = A.receiveSyncMessage(doc, state, message);
        this.docs.set(caseId, doc);
        states.set(caseId, state);
      }
      for (const n of answer.notices) {
        notices.push(n);
        active.delete(n.caseId); // do not resend a refused case's changes until it changes
        if (this.docs.has(n.caseId)) this.refused.set(n.caseId, heads(n.caseId));
      }
    }
    this.cursor = cursor; // the conversation is over: keep the cursor
    for (const [id, state] of states) this.syncStates.set(id, A.encodeSyncState(state));
    this.lastRounds = rounds;
    return notices;
  }

  view(caseId) {
    return jsonView(A.toJS(this.docs.get(caseId)));
  }
}

// ---------------------------------------------------------------------------------------------
// Checks.

class CheckFailed extends Error {}
function expect(cond, message) {
  if (!cond) throw new CheckFailed(message);
}

const results = [];
async function check(name, body) {
  const t0 = performance.now();
  try {
    const notes = (await body()) ?? [];
    results.push({ name, ok: true });
    console.log(`PASS  ${name}  [${((performance.now() - t0) / 1000).toFixed(2)} s]`);
    for (const n of [].concat(notes)) console.log(`        ${n}`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}  [${((performance.now() - t0) / 1000).toFixed(2)} s]`);
    console.log(`        ${err instanceof CheckFailed ? err.message : err.stack}`);
  }
}

/** Every `x-` key of the schema: gridcase's annotations, declared to ajv as such. */
function extensionKeys(node, keys = new Set()) {
  if (Array.isArray(node)) node.forEach((n) => extensionKeys(n, keys));
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k.startsWith("x-")) keys.add(k);
      else extensionKeys(v, keys);
    }
  }
  return keys;
}

function compileSchema(schema) {
  // Strict mode, with the `x-` annotations declared and union types (`["string", "null"]`)
  // allowed: a typo in a standard keyword still fails the compile.
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  for (const k of extensionKeys(schema)) ajv.addKeyword({ keyword: k });
  // OpenAPI's `example` (JSON Schema has `examples`, an array) and number formats, which the
  // schema uses and JSON Schema does not define.
  ajv.addKeyword({ keyword: "example" });
  ajv.addFormat("int32", { type: "number", validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat("int64", { type: "number", validate: (n) => Number.isInteger(n) });
  ajv.addFormat("double", { type: "number", validate: (n) => Number.isFinite(n) });
  ajv.addSchema(schema);
  ajv.getSchema(schema.$id); // compiles it all
  const id = schema.$id;
  const validateDocument = ajv.getSchema(id);
  const payloads = {};
  for (const kind of Object.keys(schema.$defs.payloads)) {
    payloads[kind] = ajv.getSchema(`${id}#/$defs/payloads/${kind}`);
  }
  return {
    ajv,
    validateDocument,
    payloads,
    scope: ajv.getSchema(`${id}#/$defs/Scope`),
    caseState: ajv.getSchema(`${id}#/$defs/CaseState`),
    known: new Set(schema["x-gridcase-known-kinds"]),
  };
}

const errorsOf = (validate) => JSON.stringify(validate.errors?.slice(0, 3));

/**
 * A case's JSON view against the schema, with the JSON texts (`contentSchema`: an annotation
 * a validator does not apply) checked too. Returns the events whose payload does not read.
 */
function validateCase(v, doc) {
  expect(v.validateDocument(doc), `document: ${errorsOf(v.validateDocument)}`);
  const unread = [];
  for (const e of doc.events) {
    const scope = JSON.parse(e.scope);
    expect(v.scope(scope), `event ${e.id} scope: ${errorsOf(v.scope)}`);
    const parents = JSON.parse(e.parents);
    expect(Array.isArray(parents) && parents.every((p) => /^[0-9a-f]{32}$/.test(p)), `event ${e.id} parents`);
    const payload = JSON.parse(e.payload);
    expect(payload && typeof payload === "object" && !Array.isArray(payload), `event ${e.id} payload is an object`);
    if (v.known.has(e.kind) && !v.payloads[e.kind](payload)) {
      unread.push(`${e.kind} ${e.id}: ${errorsOf(v.payloads[e.kind])}`);
    }
  }
  return unread;
}

async function main() {
  const started = performance.now();
  let server;
  const stop = () => server?.stop();
  process.on("exit", stop);
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
  try {
    server = await Server.start();
    console.log(`gridcase-server at ${server.url}`);
    await scenarios(server);
  } catch (err) {
    results.push({ name: "setup", ok: false });
    console.log(`FAIL  setup\n        ${err.stack}`);
  } finally {
    stop();
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`conformance: ${passed} passed, ${failed} failed in ${secs}s`);
  process.exitCode = failed ? 1 : 0;
}

async function scenarios(server) {
  const ctx = {};

  await check("a. schema: served = repository, compiles, examples and payloads validate", async () => {
    const r = await server.request("GET", "/v1/schema/case-document.json");
    expect(r.status === 200, `GET /v1/schema/case-document.json: ${r.status}`);
    const repo = JSON.parse(readFileSync(SCHEMA_PATH, "utf8"));
    expect(isDeepStrictEqual(r.body, repo), "the served schema differs from schema/case-document.schema.json");
    const v = compileSchema(r.body);
    ctx.v = v;
    ctx.schema = r.body;
    const openapi = await server.request("GET", "/v1/openapi.json");
    const sync = openapi.body?.paths?.["/v1/sync"]?.post;
    expect(openapi.status === 200 && sync, "GET /v1/openapi.json has POST /v1/sync");
    expect(sync.requestBody.content["application/x-gridcase-sync"], "POST /v1/sync takes application/x-gridcase-sync");
    const notes = [];
    const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith(".json")).sort();
    expect(files.length > 0, "schema/examples/ is empty");
    for (const f of files) {
      const doc = JSON.parse(readFileSync(join(EXAMPLES_DIR, f), "utf8"));
      let unread;
      try {
        unread = validateCase(v, doc);
      } catch (err) {
        throw new CheckFailed(`${f}: ${err.message}`);
      }
      const unknown = doc.events.filter((e) => !v.known.has(e.kind)).map((e) => e.kind);
      // README: v1-later-release.json carries what a later release writes, on purpose
      // including a payload of a known kind that this release does not read.
      if (f === "v1-later-release.json") {
        expect(unread.length > 0 && unknown.length > 0, `${f}: expected a later kind and an unreadable payload`);
      } else {
        expect(unread.length === 0, `${f}: payloads do not validate: ${unread.join("; ")}`);
      }
      notes.push(
        `${f}: ${doc.events.length} events valid` +
          (unknown.length ? `; later kinds kept: ${unknown.join(", ")}` : "") +
          (unread.length ? `; known-kind payloads a later release wrote: ${unread.length}` : ""),
      );
    }
    return notes;
  });
  if (!ctx.v) throw new Error("no schema: the other checks need it");
  const { v, schema } = ctx;

  const operator = await server.login("operator");
  const worker = new Handheld(server, "worker1");

  await check("b. receive a case: the operator's hotline case arrives by sync", async () => {
    const r = await server.request("POST", "/v1/cases", {
      token: operator,
      body: {
        channel: "hotline",
        description: "conformance: ground locks are back",
        grid: "g1",
        address: "1 Example Lane",
        reporter_name: "张三",
        reporter_contact: "13800000000",
      },
    });
    expect(r.status === 201, `POST /v1/cases: ${r.status} ${JSON.stringify(r.body)}`);
    expect(r.body.status === "awaiting_confirmation", `status ${r.body.status}, expected awaiting_confirmation`);
    ctx.hotline = r.body.case;
    await worker.signIn();
    expect(worker.me.role === "grid_worker", `worker1's role is ${worker.me.role}`);
    const notices = await worker.sync();
    expect(notices.length === 0, `notices: ${JSON.stringify(notices)}`);
    expect(worker.docs.has(ctx.hotline), `case ${ctx.hotline} did not arrive (have ${[...worker.docs.keys()]})`);
    const doc = worker.view(ctx.hotline);
    const unread = validateCase(v, doc);
    expect(unread.length === 0, `payloads: ${unread}`);
    expect(doc.header.case === ctx.hotline, "header.case names the case");
    expect(doc.events.length === 1 && doc.events[0].kind === "intake", "one intake event");
    expect(doc.events[0].id === r.body.event, "the intake is the event POST /v1/cases named");
    const intake = JSON.parse(doc.events[0].payload);
    expect(intake.territory.grid === "g1", "intake in g1");
    expect(!intake.reporter, "the caller's personal data stays out of the replicated document");
    expect(/^[0-9a-f]{32}$/.test(intake.caller ?? ""), `the intake names its caller record: ${intake.caller}`);
    expect(!JSON.stringify(doc).includes("13800000000"), "no phone number anywhere in the document");
    return `case ${ctx.hotline} arrived in ${worker.lastRounds} round(s); cursor ${worker.cursor}`;
  });

  await check("c. append a valid event: worker1 confirms the hotline case", async () => {
    expect(worker.docs.has(ctx.hotline), "no case from (b)");
    const row = schema["x-gridcase-rules"].rows.find((row) => row.kind === "confirm");
    expect(
      row && row.from.includes("awaiting_confirmation") && row.who.includes("grid_worker"),
      "the rule table lets a grid worker confirm",
    );
    const before = await server.request("GET", `/v1/cases/${ctx.hotline}`, { token: operator });
    expect(before.body.state.status === "awaiting_confirmation", `status before: ${before.body.state.status}`);
    const intakeId = worker.view(ctx.hotline).events[0].id;
    const eventId = worker.append(ctx.hotline, "confirm", { exists: true, note: "seen on site (conformance)" });
    const mine = worker.view(ctx.hotline).events.at(-1);
    expect(mine.parents === JSON.stringify([intakeId]), `parents ${mine.parents}`);
    expect(v.payloads.confirm(JSON.parse(mine.payload)), "confirm payload validates");
    const notices = await worker.sync();
    expect(notices.length === 0, `notices: ${JSON.stringify(notices)}`);
    const r = await server.request("GET", `/v1/cases/${ctx.hotline}`, { token: operator });
    expect(r.status === 200, `GET /v1/cases/{id}: ${r.status}`);
    expect(r.body.state.status === "reported", `status ${r.body.state.status}, expected reported`);
    expect(v.caseState(r.body.state), `CaseState: ${errorsOf(v.caseState)}`);
    const entry = r.body.state.timeline.find((t) => t.event === eventId);
    expect(entry, "the event is in the timeline");
    expect(entry.kind === "confirm" && entry.disposition === "applied", `timeline entry ${JSON.stringify(entry)}`);
    expect(entry.author === "worker1" && entry.device === worker.device, "author and device as written");
    const hist = r.body.history.find((h) => h.event.id === eventId);
    expect(hist && hist.disposition === "applied" && !hist.flag, `history entry ${JSON.stringify(hist)}`);
    return `event ${eventId}: applied, status reported`;
  });

  await check("d. create a case offline: worker1's patrol case in g1", async () => {
    expect(worker.device, "worker1 is not signed in");
    const at = Date.now();
    const { caseId, eventId } = worker.createCase(
      {
        channel: "patrol",
        description: "conformance: garbage piled at the corner",
        address: "1 Example Lane",
        coordinates: [116.402, 39.912],
        category: null,
        photos: [],
        reporter: null,
        territory: { street: "s1", community: "c1", grid: "g1" },
      },
      at,
    );
    ctx.patrol = caseId;
    const local = worker.view(caseId);
    expect(validateCase(v, local).length === 0, "the new case validates locally");
    const [change] = A.getAllChanges(worker.docs.get(caseId)).map(A.decodeChange);
    expect(change.time === Math.floor(at / 1000), `change time ${change.time}`);
    expect(!change.ops.some((op) => op.action === "makeText"), "no text objects in the change");
    const uint = change.ops.find((op) => op.key === "schema");
    expect(uint && uint.datatype === "uint", `header.schema written as ${JSON.stringify(uint)}`);
    const notices = await worker.sync();
    expect(notices.length === 0, `notices: ${JSON.stringify(notices)}`);
    const r = await server.request("GET", `/v1/cases/${caseId}`, { token: operator });
    expect(r.status === 200, `GET /v1/cases/{id}: ${r.status} ${JSON.stringify(r.body)}`);
    expect(r.body.state.status === "reported", `status ${r.body.state.status}, expected reported`);
    expect(r.body.state.reported_by === "worker1", `reported_by ${r.body.state.reported_by}`);
    expect(r.body.state.timeline[0]?.event === eventId, "the intake is the first timeline entry");
    return `case ${caseId}: reported`;
  });

  await check("e. a later kind is not refused: photo_annotation is kept and shown", async () => {
    expect(worker.docs.has(ctx.patrol), "no case from (d)");
    const kind = "photo_annotation";
    expect(!v.known.has(kind), `${kind} is a known kind now`);
    const eventId = worker.append(ctx.patrol, kind, { photo: "0".repeat(64), shape: "arrow", note: "the crack" });
    const notices = await worker.sync();
    expect(notices.length === 0, `notices: ${JSON.stringify(notices)}`);
    const r = await server.request("GET", `/v1/cases/${ctx.patrol}`, { token: operator });
    expect(r.status === 200, `GET /v1/cases/{id}: ${r.status}`);
    const entry = r.body.state.timeline.find((t) => t.event === eventId);
    expect(entry, "the event is in state.timeline");
    expect(entry.kind === "unknown" && entry.stored_kind === kind, `timeline entry ${JSON.stringify(entry)}`);
    expect(entry.disposition !== "applied", `disposition ${entry.disposition}: the later kind had an effect`);
    expect(r.body.state.status === "reported", `status ${r.body.state.status}: the later kind had an effect`);
    expect(!r.body.state.conflicts.some((c) => c.event === eventId), "the later kind raised a conflict");
    const stored = r.body.history.find((h) => h.event.id === eventId)?.event.action;
    expect(stored?.kind === "unknown" && stored.payload.kind === kind, `history keeps it: ${JSON.stringify(stored)}`);
    expect(JSON.parse(stored.payload.payload).shape === "arrow", "the payload is kept as written");
    return `timeline: kind ${entry.kind}, stored_kind ${entry.stored_kind}, disposition ${entry.disposition}`;
  });

  const codes = schema["x-gridcase-notice-codes"];
  const territory = { street: "s1", community: "c1", grid: "g1" };
  const intake = (description) => ({ channel: "patrol", description, territory });

  /** Syncs `caseId` after a faulty write; the notices must name it with `code` (published). */
  async function refused(what, caseId, code) {
    const notices = await worker.sync();
    expect(notices.length > 0, `${what}: no notice`);
    for (const n of notices) {
      expect(n.caseId === caseId, `${what}: a notice for another case, ${n.caseId}`);
      expect(Object.hasOwn(codes, n.code), `${what}: notice code ${n.code} is not published`);
      expect(n.code === code, `${what}: notice ${n.code} ("${n.text}"), schema/README.md says ${code}`);
    }
    return `${what}: ${notices.map((n) => `${n.code} ("${n.text}")`).join(", ")}`;
  }

  /** A case already on the server, with one event appended to it by `write`. */
  async function syncedCase(description) {
    const { caseId } = worker.createCase(intake(description));
    const notices = await worker.sync();
    expect(notices.length === 0, `the fresh case synced with notices ${JSON.stringify(notices)}`);
    return caseId;
  }

  /** A new case whose first change is written by `write(d, caseId, intakeEvent, at)`. */
  function rawCase(description, write) {
    const at = Date.now();
    const caseId = uuid7(at);
    const event = worker.envelope(null, "intake", intake(description), at);
    const doc = A.change(A.init({ actor: worker.actor }), { time: Math.floor(at / 1000) }, (d) =>
      write(d, caseId, event, at),
    );
    worker.docs.set(caseId, doc);
    return caseId;
  }

  async function notStored(caseId, events) {
    const r = await server.request("GET", `/v1/cases/${caseId}`, { token: operator });
    if (events === 0) expect(r.status === 404, `the refused case is stored (${r.status})`);
    else expect(r.body.state.timeline.length === events, "the refused event is stored");
  }

  await check("f. the pitfall is real: a plain JS string (a text object) is refused", async () => {
    expect(worker.device, "worker1 is not signed in");
    const seen = [];
    // Each on a case of its own, so that one refusal does not hide another.
    for (const field of ["kind", "payload"]) {
      const caseId = await syncedCase(`conformance: pitfall, text ${field}`);
      const override = { kind: "comment", payload: JSON.stringify({ text: "a note" }) };
      worker.append(caseId, "comment", { text: "a note" }, { override: { [field]: override[field] } });
      const ops = A.decodeChange(A.getLastLocalChange(worker.docs.get(caseId))).ops;
      expect(ops.some((op) => op.action === "makeText"), "automerge JS wrote a text object");
      seen.push(await refused(`event field \`${field}\` as text`, caseId, "event_forged"));
      await notStored(caseId, 1);
    }
    const caseId = rawCase("conformance: pitfall, text header", (d, caseId, event, at) => {
      d.header = {};
      d.header.schema = new A.Uint(1);
      d.header.case = caseId; // the pitfall
      d.header.created_by = S(worker.me.user);
      d.header.device = S(worker.device);
      d.header.created_at = at;
      d.events = [];
      d.attachments = [];
      d.events.push(event);
    });
    seen.push(await refused("header field `case` as text", caseId, "bad_header"));
    await notStored(caseId, 0);
    return seen;
  });

  await check("g. the other pitfalls are refused with the codes the README names", async () => {
    expect(worker.device, "worker1 is not signed in");
    const seen = [];
    // automerge JS >= 3.2.5: a Uint inside an object literal is written as a map {value: 1}.
    let caseId = rawCase("conformance: pitfall, header literal", (d, caseId, event, at) => {
      d.header = {
        schema: new A.Uint(1),
        case: S(caseId),
        created_by: S(worker.me.user),
        device: S(worker.device),
        created_at: at,
      };
      d.events = [];
      d.attachments = [];
      d.events.push(event);
    });
    const lastOps = (id) => A.decodeChange(A.getLastLocalChange(worker.docs.get(id))).ops;
    const schemaOp = lastOps(caseId).find((op) => op.key === "schema");
    if (schemaOp.action === "makeMap") {
      seen.push(await refused("header as one literal holding a Uint (written as a map)", caseId, "bad_header"));
      await notStored(caseId, 0);
    } else {
      expect((await worker.sync()).length === 0, "header literal with a scalar uint: notices");
      seen.push("header as one literal: this automerge JS writes the uint scalar; accepted");
    }
    caseId = await syncedCase("conformance: pitfall, Int literal");
    worker.append(caseId, "comment", { text: "a note" }, { override: { at: new A.Int(Date.now()) } });
    const atOp = lastOps(caseId).find((op) => op.key === "at");
    if (atOp.action === "makeMap") {
      seen.push(await refused("an event literal holding an Int (written as a map)", caseId, "event_forged"));
      await notStored(caseId, 1);
    } else {
      expect((await worker.sync()).length === 0, "event literal with a scalar int: notices");
      seen.push("an event literal holding an Int: this automerge JS writes the int scalar; accepted");
    }
    caseId = await syncedCase("conformance: pitfall, Date");
    worker.append(caseId, "comment", { text: "a note" }, { override: { at: new Date() } });
    seen.push(await refused("`at` as a Date (an automerge timestamp)", caseId, "bad_event"));
    await notStored(caseId, 1);
    caseId = await syncedCase("conformance: pitfall, actor");
    worker.docs.set(caseId, A.clone(worker.docs.get(caseId), { actor: randomBytes(16).toString("hex") }));
    worker.append(caseId, "comment", { text: "a note" });
    seen.push(await refused("a change by an unregistered actor", caseId, "actor_not_bound"));
    await notStored(caseId, 1);
    caseId = await syncedCase("conformance: pitfall, filing");
    const row = schema["x-gridcase-rules"].rows.find((row) => row.kind === "file");
    expect(!row.who.includes("grid_worker"), "the rule table lets a grid worker file");
    const filing = { units: ["u1"], category: "E0102", level: "general", callback: false, suggestion: "" };
    worker.append(caseId, "file", filing);
    seen.push(await refused("a grid worker filing", caseId, "not_permitted"));
    await notStored(caseId, 1);
    return seen;
  });
}

await main();
