// One warm Node.js Lambda "container": loads the handler once, then serves invocations.
//
// Started by `localcloud.lambda_runner` as
// `node lambda_worker_node.mjs <code_dir> <handler> [<source_folder>]` with the function's
// environment and its code as working directory, on the Node.js the repo pins (never a system
// Node). It speaks the Python worker's protocol (one JSON document per line): first
// `{"ready": true}` or `{"ready": false, "error": {...}}`, then for each request line
// `{"id", "event", "deadline_ms", "context"}` one `{"id", "ok", "result"|"error", "logs"}`
// (and `"exit": true` when the process ends after it, as Lambda's runtime does after an
// unhandled rejection or an uncaught exception). Built-in modules only.
//
// What it copies from Lambda's Node.js runtime interface client: how the handler file is
// found (`index.js` as CommonJS unless the nearest package.json says `"type": "module"`,
// then `.mjs`, `.cjs`), its error documents (`errorType`, `errorMessage`, `trace`) and
// init errors (`Runtime.ImportModuleError`, `Runtime.HandlerNotFound`,
// `Runtime.MalformedHandlerName`, `Runtime.UserCodeSyntaxError`, and on nodejs24.x
// `Runtime.CallbackHandlerDeprecated`), console lines (`<time>\t<request id>\t<LEVEL>\t<msg>`
// or JSON), the context object, callback handlers with `callbackWaitsForEmptyEventLoop`.
//
// One thing Lambda does not do: an `https.request`/`https.get` to the local cloud's own host
// on https's default port goes over plain HTTP to the local cloud's port (see
// `redirectToLocalCloud`), because CDK's custom-resource handlers answer the response URL
// with `https.request({hostname, path})`, dropping the URL's `http:` and port.

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import util from 'node:util';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';

const [codeDir, handlerString, sourceFolder] = process.argv.slice(2);
const appRoot = sourceFolder || codeDir;
const runtime = (process.env.AWS_EXECUTION_ENV || '').replace(/^AWS_Lambda_/, '');
const runtimeMajor = Number((runtime.match(/^nodejs(\d+)/) || [])[1] || 0);
// nodejs24.x and later run only async (promise) handlers.
const callbacksRemoved = runtimeMajor >= 24;
const CALLBACK_REMOVED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting with ' +
  'Node.js 24. You need to modify this function to use a supported handler signature to use ' +
  'Node.js 24 or later. For more information see ' +
  'https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

// -- the protocol: fd 1 is ours; the function's stdout/stderr writes are captured ---------
function writeAll(fd, text) {
  const data = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < data.length) {
    try {
      offset += fs.writeSync(fd, data, offset);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // pipe full: wait
    }
  }
}

function send(message) {
  writeAll(1, JSON.stringify(message) + '\n');
}

// -- logs ---------------------------------------------------------------------------------
const LEVELS = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4, FATAL: 5 };
const jsonLogs = process.env.AWS_LAMBDA_LOG_FORMAT === 'JSON';
// Text logs print every level; JSON logs the configured one (AWS's default INFO).
const minimumLevel = jsonLogs
  ? (LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || 'INFO').toUpperCase()] ?? LEVELS.INFO)
  : LEVELS.TRACE;
let logs = ''; // the current invocation's (or the init phase's) log text
let currentRequestId; // undefined during init, as Lambda prints it

function logLine(level, args) {
  if (LEVELS[level] < minimumLevel) return;
  const timestamp = new Date().toISOString();
  const message = util.format(...args);
  if (jsonLogs) {
    logs += JSON.stringify({ timestamp, level, requestId: currentRequestId, message }) + '\n';
  } else {
    logs += `${timestamp}\t${currentRequestId}\t${level}\t${message}\n`;
  }
}

const consoleLevels = {
  log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE',
  fatal: 'FATAL',
};
for (const [method, level] of Object.entries(consoleLevels)) {
  console[method] = (...args) => logLine(level, args);
}
const capture = (chunk, encoding, callback) => {
  logs += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const done = typeof encoding === 'function' ? encoding : callback;
  if (typeof done === 'function') done();
  return true;
};
process.stdout.write = capture;
process.stderr.write = capture;

// -- https to the local cloud's own host: plain HTTP to its port ---------------------------
// Only a request whose host is the local cloud's (AWS_ENDPOINT_URL's, or localhost/127.0.0.1
// when that is a loopback one) on https's default port, which is what a dropped scheme and
// port look like; any other https request (another host, an explicit port) is left alone.
function localCloudTarget() {
  let endpoint;
  try {
    endpoint = new URL(process.env.AWS_ENDPOINT_URL || '');
  } catch {
    return null;
  }
  if (endpoint.protocol !== 'http:') return null;
  const hosts = new Set([endpoint.hostname]);
  if (['localhost', '127.0.0.1'].includes(endpoint.hostname)) {
    hosts.add('localhost').add('127.0.0.1');
  }
  return { hosts, port: Number(endpoint.port || 80) };
}

function redirectToLocalCloud() {
  const target = localCloudTarget();
  if (target === null) return;
  const { request: httpsRequest } = https;
  // https.request(options[, callback]) or (url[, options][, callback]), as Node takes them.
  const redirected = (...original) => {
    const args = [...original];
    let options = {};
    if (typeof args[0] === 'string' || args[0] instanceof URL) {
      const url = new URL(String(args[0]));
      options = {
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
      };
      if (url.username || url.password) {
        options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      }
      args.shift();
    }
    if (args[0] && typeof args[0] === 'object') options = { ...options, ...args.shift() };
    const host = String(options.hostname || options.host || 'localhost').replace(/^\[|\]$/g, '');
    const port = Number(options.port || 443);
    if (!target.hosts.has(host) || port !== 443) return httpsRequest(...original);
    const plain = { ...options, protocol: 'http:', port: target.port };
    if (plain.agent instanceof https.Agent) delete plain.agent; // an https agent refuses http:
    return http.request(plain, ...args);
  };
  https.request = redirected;
  https.get = (...args) => {
    const request = https.request(...args);
    request.end();
    return request;
  };
  syncBuiltinESMExports(); // `import { request } from 'node:https'` sees these too
}

redirectToLocalCloud();

// -- errors, shaped as Lambda's runtime shapes them ----------------------------------------
function named(name, message) {
  const error = new Error(message);
  error.name = name;
  Error.captureStackTrace(error, named); // the trace starts where it was raised
  return error;
}

function toResponse(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      trace: String(error.stack || '').split('\n'),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

function toLogged(error) {
  const response = toResponse(error);
  const logged = { errorType: response.errorType, errorMessage: response.errorMessage };
  if (error instanceof Error) Object.assign(logged, error);
  logged.stack = response.trace;
  return logged;
}

function logError(label, error) {
  logLine('ERROR', [label, '\t' + JSON.stringify(toLogged(error))]);
}

// -- loading the handler (UserFunction.js of the runtime interface client) ----------------
const require = createRequire(path.join(appRoot, 'index.js'));

function hasTypeModule(file) {
  let folder = path.dirname(file);
  for (;;) {
    const manifest = path.join(folder, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    const parent = path.dirname(folder);
    if (parent === folder) return false;
    folder = parent;
  }
}

async function loadModule(root, moduleRoot, moduleName) {
  const base = path.resolve(root, moduleRoot, moduleName);
  const exists = (suffix) => fs.existsSync(base + suffix) && fs.statSync(base + suffix).isFile();
  if (exists('')) return require(base);
  const typeModule = hasTypeModule(base);
  if (!typeModule && exists('.js')) return require(base + '.js');
  if (typeModule && exists('.js')) return import(pathToFileURL(base + '.js').href);
  if (exists('.mjs')) return import(pathToFileURL(base + '.mjs').href);
  if (exists('.cjs')) return require(base + '.cjs');
  return undefined;
}

async function loadHandler() {
  const handlerName = path.basename(handlerString);
  const moduleRoot = handlerString.slice(0, handlerString.length - handlerName.length);
  const match = handlerName.match(/^([^.]*)\.(.*)$/);
  if (!match) throw named('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, functionPath] = match;
  let loaded;
  try {
    // Hot reload: the working-tree folder first, the deployed code after it.
    for (const root of sourceFolder ? [sourceFolder, codeDir] : [codeDir]) {
      loaded = await loadModule(root, moduleRoot, moduleName);
      if (loaded !== undefined) break;
    }
    if (loaded === undefined) {
      loaded = require(require.resolve(moduleName, { paths: [appRoot, moduleRoot] }));
    }
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw named('Runtime.UserCodeSyntaxError', String(error));
    }
    if (error && (error.code === 'MODULE_NOT_FOUND' || error.code === 'ERR_MODULE_NOT_FOUND')) {
      throw named('Runtime.ImportModuleError', String(error));
    }
    throw error;
  }
  let handler = loaded;
  for (const part of functionPath.split('.')) {
    handler = handler == null ? undefined : handler[part];
  }
  if (typeof handler !== 'function') {
    throw named('Runtime.HandlerNotFound', `${handlerString} is undefined or not exported`);
  }
  // As the nodejs24.x runtime decides it: by the number of parameters declared.
  if (callbacksRemoved && handler.length >= 3) {
    throw named('Runtime.CallbackHandlerDeprecated', CALLBACK_REMOVED);
  }
  return handler;
}

// -- invocations ---------------------------------------------------------------------------
let handler;
let current = null; // the invocation in flight: {id, settled, callbackResult, ...}

function finish(invocation, outcome, exit = false) {
  if (invocation.settled) return;
  invocation.settled = true;
  let response;
  if (outcome.ok) {
    let body;
    try {
      body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
    } catch (error) {
      const stringify = named('Runtime.JSONStringifyError', 'Unable to stringify response body');
      outcome = { ok: false, error: stringify };
    }
    if (outcome.ok) response = { id: invocation.id, ok: true, result: body ?? 'null' };
  }
  if (!outcome.ok) {
    if (!outcome.logged) logError('Invoke Error', outcome.error);
    response = { id: invocation.id, ok: false, error: toResponse(outcome.error) };
  }
  response.logs = logs;
  if (exit) response.exit = true;
  logs = '';
  current = null;
  send(response);
  if (exit) return;
  keepAlive.ref();
  setImmediate(nextRequest);
}

function buildContext(invocation, request) {
  const info = request.context || {};
  const deadline = Number(request.deadline_ms);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: String(info.function_name ?? ''),
    functionVersion: String(info.function_version ?? '$LATEST'),
    invokedFunctionArn: String(info.invoked_function_arn ?? ''),
    memoryLimitInMB: String(info.memory_limit_in_mb ?? '128'),
    awsRequestId: request.id,
    logGroupName: String(info.log_group_name ?? ''),
    logStreamName: String(info.log_stream_name ?? ''),
    identity: undefined,
    clientContext: undefined,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (!callbacksRemoved) {
    const callback = makeCallback(invocation, context);
    context.done = (error, result) => callback(error, result);
    context.succeed = (result) => callback(null, result);
    context.fail = (error) => callback(error ?? 'handled');
    invocation.callback = callback;
  }
  return context;
}

function makeCallback(invocation, context) {
  return (error, result) => {
    if (invocation.settled || invocation.called) return;
    invocation.called = true;
    const outcome = error != null ? { ok: false, error } : { ok: true, result };
    if (context.callbackWaitsForEmptyEventLoop) {
      invocation.pending = outcome; // sent when the event loop is empty (`beforeExit`)
    } else {
      finish(invocation, outcome);
    }
  };
}

function run(request) {
  currentRequestId = request.id;
  const invocation = { id: request.id, settled: false, called: false, pending: null };
  current = invocation;
  // Only the function's own work keeps the loop alive now: `beforeExit` says it is empty.
  keepAlive.unref();
  const context = buildContext(invocation, request);
  let returned;
  try {
    returned = callbacksRemoved
      ? handler(request.event, context)
      : handler(request.event, context, invocation.callback);
  } catch (error) {
    finish(invocation, { ok: false, error });
    return;
  }
  if (callbacksRemoved || (returned && typeof returned.then === 'function')) {
    Promise.resolve(returned).then(
      (result) => finish(invocation, { ok: true, result }),
      (error) => finish(invocation, { ok: false, error }),
    );
  }
  // Otherwise a callback handler: its callback, or an empty event loop, ends the invocation.
}

// Between invocations this timer keeps the process alive; stdin never does (it is unref'd),
// so during one the loop empties when the function's own timers and sockets are done.
const keepAlive = setInterval(() => {}, 1 << 30);

process.on('beforeExit', () => {
  if (current !== null) finish(current, current.pending || { ok: true, result: null });
});

process.on('unhandledRejection', (reason) => {
  const error = named('Runtime.UnhandledPromiseRejection', String(reason));
  error.reason = reason;
  error.promise = {};
  logError('Unhandled Promise Rejection', error);
  exitAfter(error, 128);
});

process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  exitAfter(error, 129);
});

// The runtime ends the process: the invocation in flight fails with the error; between
// invocations nobody waits for an answer, so the logs go to the server log.
function exitAfter(error, status) {
  if (current !== null) finish(current, { ok: false, error, logged: true }, true);
  else writeAll(2, logs);
  process.exit(status);
}

// -- the request loop: one request at a time ----------------------------------------------
let buffered = '';
const queue = [];

function nextRequest() {
  if (current !== null || queue.length === 0) return;
  run(JSON.parse(queue.shift()));
}

async function main() {
  try {
    handler = await loadHandler();
  } catch (error) {
    logError('Init Error', error);
    send({ ready: false, error: toResponse(error), logs });
    process.exit(0);
  }
  send({ ready: true, logs });
  logs = '';
  process.stdin.setEncoding('utf8');
  if (typeof process.stdin.unref === 'function') process.stdin.unref();
  process.stdin.on('data', (chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      queue.push(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
    nextRequest();
  });
  process.stdin.on('end', () => process.exit(0)); // the runner retired this worker
}

main();
