// Write an out-of-process Gati module in Node: serve(instance) answers JSON-RPC 2.0 calls on stdio.
// No dependencies. Protocol: docs/module-protocol.md (one JSON text per line, "$/ready" at start-up).
//
//   import { serve, ModuleError } from "./gati-module.mjs";
//   serve({ async quote({ sku, qty }) { return { sku, total: qty * 3 }; } });
//
// Methods receive the params object (by-name params) and the request's `meta` (such as the caller's
// W3C `traceparent`, or {}) as their two arguments, or the elements of a params array as
// positional arguments. A thrown error answers a JSON-RPC error with
// its message (the stack goes to stderr); throw ModuleError to choose the code and data. console.log
// writes to stderr: stdout carries the protocol only. The process exits when stdin closes.

const APPLICATION_ERROR = -32000;
const CAPABILITY_REFUSED = -32044;
const NO_NETWORK = new Set(["ENETUNREACH", "EACCES", "EPERM"]);

export class ModuleError extends Error {
  constructor(message, code = APPLICATION_ERROR, data = undefined) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

function methodsOf(instance) {
  const found = new Map();
  for (let o = instance; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "constructor" || name.startsWith("_") || found.has(name)) continue;
      const value = instance[name];
      if (typeof value === "function") found.set(name, value.bind(instance));
    }
  }
  return found;
}

export function serve(instance) {
  const out = process.stdout;
  const isolated = process.env.GATI_MODULE_NETNS === "1";
  console.log = console.info = console.debug = (...args) => console.error(...args);
  const methods = methodsOf(instance);
  const send = (msg) => out.write(JSON.stringify(msg) + "\n");
  const fail = (id, code, message, data) =>
    send({ jsonrpc: "2.0", id, error: data === undefined ? { code, message } : { code, message, data } });

  const answer = (id, method, promise) =>
    promise.then(
      (result) => {
        let line;
        try {
          line = JSON.stringify({ jsonrpc: "2.0", id, result: result === undefined ? null : result });
        } catch (err) {
          return fail(id, -32603, `the result of ${method} has no JSON form: ${err.message}`);
        }
        out.write(line + "\n");
      },
      (err) => {
        if (err instanceof ModuleError) return fail(id, err.code, err.message, err.data);
        if (isolated && err && NO_NETWORK.has(err.code)) {
          return fail(id, CAPABILITY_REFUSED,
            `${method} tried to open a network connection, but the module declares no egress (${err.message})`,
            { capability: "egress" });
        }
        process.stderr.write(`${(err && err.stack) || err}\n`);
        fail(id, APPLICATION_ERROR, String((err && err.message) || err), { type: (err && err.name) || "Error" });
      },
    );

  const dispatch = (line) => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return fail(null, -32700, "parse error");
    }
    if (msg === null || typeof msg !== "object" || typeof msg.method !== "string") {
      return fail(msg && msg.id !== undefined ? msg.id : null, -32600, "invalid request");
    }
    const { id, method } = msg;
    if (id === undefined || id === null) {
      if (method === "$/shutdown") process.exit(0);
      return; // "$/cancel": a promise cannot be cancelled; its late answer is dropped by the runtime
    }
    const fn = methods.get(method);
    if (!fn) return fail(id, -32601, `method not found: ${method}`);
    const params = msg.params === undefined || msg.params === null ? {} : msg.params;
    if (typeof params !== "object") return fail(id, -32602, "params must be an object or an array");
    let promise;
    try {
      const meta = msg.meta !== null && typeof msg.meta === "object" ? msg.meta : {};
      promise = Promise.resolve(Array.isArray(params) ? fn(...params) : fn(params, meta));
    } catch (err) {
      promise = Promise.reject(err);
    }
    answer(id, method, promise);
  };

  let buffer = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.trim()) dispatch(line);
    }
  });
  process.stdin.on("end", () => process.exit(0));
  send({ jsonrpc: "2.0", method: "$/ready", params: { methods: [...methods.keys()].sort(), pid: process.pid } });
}
