// Globals every task gets beyond the ECMAScript built-ins: typed error classes, `console`
// and `fetch`. Evaluated once per compiled task context, before main.js. The host natives
// are captured here and removed from the global object, so tasks see only this surface.
(() => {
  const hostConsole = globalThis.__cogwork_console;
  const hostFetch = globalThis.__cogwork_fetch;
  delete globalThis.__cogwork_console;
  delete globalThis.__cogwork_fetch;

  class TaskError extends Error {
    constructor(message, options = {}) {
      super(message);
      this.name = new.target.name;
      for (const key of ["status", "retryable", "data"]) {
        if (options[key] !== undefined) this[key] = options[key];
      }
    }
  }
  const names = ["NetworkError", "HttpError", "AuthenticationError", "AuthorizationError", "RateLimitError",
    "ServiceUnavailableError", "TimeoutError", "ValidationError", "ConfigurationError", "DataError"];
  for (const name of names) {
    // A computed key gives the anonymous class its name, so `error.name` is e.g. "RateLimitError".
    const cls = { [name]: class extends TaskError {} }[name];
    Object.defineProperty(globalThis, name, { value: cls, writable: true, configurable: true });
  }

  const show = (value) => {
    if (typeof value === "string") return value;
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    try { return JSON.stringify(value) ?? String(value); } catch { return String(value); }
  };
  const log = (level) => (...args) => hostConsole(level, args.map(show).join(" "));
  globalThis.console = { log: log("log"), info: log("info"), debug: log("debug"), warn: log("warn"), error: log("error") };

  const statusError = (response) => {
    const status = response.status;
    const cls = status === 401 ? AuthenticationError : status === 403 ? AuthorizationError
      : status === 429 ? RateLimitError : status >= 500 ? ServiceUnavailableError : HttpError;
    return new cls(`${response.url} answered ${status} ${response.statusText}`, { status, data: response.body });
  };

  const parseBody = (text) => {
    try { return JSON.parse(text); } catch { return text; }
  };

  // `fetch(url, init)` or `fetch(url, {method, headers}, body)`. The host performs the
  // request while this execution waits, so the response is complete when fetch returns:
  // usable directly (`r.status`, `r.body`) or awaited web-style (`(await fetch(u)).json()`).
  globalThis.fetch = function fetch(url, init, body) {
    const options = init ?? {};
    let payload = body !== undefined ? body : options.body;
    if (payload !== undefined && payload !== null && typeof payload !== "string") payload = JSON.stringify(payload);
    const headers = {};
    for (const [key, value] of Object.entries(options.headers ?? {})) headers[key.toLowerCase()] = String(value);
    const raw = hostFetch({ url: String(url), method: String(options.method ?? "GET").toUpperCase(), headers, body: payload ?? null });
    if (raw.error !== undefined) throw new NetworkError(`fetch ${url} failed: ${raw.error}`, { retryable: raw.retryable });
    const response = {
      url: raw.url, status: raw.status, statusText: raw.status_text, headers: raw.headers,
      ok: raw.status >= 200 && raw.status < 300,
      body: parseBody(raw.body),
      json: () => Promise.resolve(JSON.parse(raw.body)),
      text: () => Promise.resolve(raw.body),
    };
    if (options.throwOnError && !response.ok) throw statusError(response);
    // `then` resolves to the response without `then`, so awaiting it terminates.
    return Object.assign({}, response, { then: (onFulfilled, onRejected) => Promise.resolve(response).then(onFulfilled, onRejected) });
  };
})();
