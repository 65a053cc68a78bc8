// Doc update fan-out driver of `cargo xtask bench`: N rooms x M Yjs editors on one server; every
// editor writes once per tick and every other editor of its room must see the write. Prints one
// JSON line: delivery latency p50/p99 (all clients live in this process, so one clock measures
// both ends) and the server's resident memory per connection (from /proc/<pid>/status).
//
//   node fanout.mjs --target y-websocket|hocuspocus|automateos --url ws://127.0.0.1:1234 \
//     --rooms 10 --editors 5 --ticks 40 --interval-ms 100 --pid <server pid> \
//     [--room-ids id1,id2,... --token T]   (automateos: rooms are workflow ids, editors e0..e{M-1})

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import * as Y from 'yjs';

globalThis.WebSocket = WebSocket;
process.setMaxListeners(0); // y-websocket adds an exit listener per provider

function parseArgs(argv) {
  const args = { rooms: 10, editors: 5, ticks: 40, 'interval-ms': 100, 'timeout-ms': 30000 };
  for (let i = 0; i < argv.length; i += 2) args[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const key of ['rooms', 'editors', 'ticks', 'interval-ms', 'timeout-ms', 'pid']) {
    if (args[key] !== undefined) args[key] = Number(args[key]);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rssKb(pid) {
  if (!pid) return null;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('VmRSS:'));
  return line ? Number(line.split(/\s+/)[1]) : null;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/// Where editor `editor` writes in a doc, and the root every client observes.
function layout(doc, target) {
  if (target === 'automateos') {
    // the server-created structure: workflow.nodes.<node id> is a Y.Map with a `label`
    const root = doc.getMap('workflow');
    return {
      root,
      write(editor, value) {
        const node = root.get('nodes')?.get(`e${editor}`);
        if (!node) throw new Error(`node e${editor} missing from the workflow doc`);
        node.set('label', value);
      },
    };
  }
  const root = doc.getMap('bench');
  return { root, write: (editor, value) => root.set(`e${editor}`, value) };
}

async function connect(room, editor) {
  const doc = new Y.Doc();
  let provider;
  const synced = new Promise((resolve) => {
    if (args.target === 'hocuspocus') {
      import('@hocuspocus/provider').then(({ HocuspocusProvider }) => {
        provider = new HocuspocusProvider({ url: args.url, name: room, document: doc, onSynced: () => resolve() });
      });
    } else {
      import('y-websocket').then(({ WebsocketProvider }) => {
        const params = args.token ? { token: args.token } : {};
        provider = new WebsocketProvider(args.url, room, doc, { WebSocketPolyfill: WebSocket, params, disableBc: true });
        provider.on('sync', (isSynced) => isSynced && resolve());
      });
    }
  });
  await synced;
  return { doc, room, editor, provider, ...layout(doc, args.target) };
}

async function main() {
  const roomIds = args['room-ids']
    ? String(args['room-ids']).split(',')
    : Array.from({ length: args.rooms }, (_, i) => `bench-room-${i}-${process.pid}`);
  const rssBefore = rssKb(args.pid);
  const clients = [];
  const connectStart = performance.now();
  for (const room of roomIds) {
    const joined = await Promise.all(Array.from({ length: args.editors }, (_, e) => connect(room, e)));
    clients.push(...joined);
  }
  const connectMs = performance.now() - connectStart;

  const latencies = [];
  for (const client of clients) {
    client.root.observeDeep((events) => {
      const now = performance.now();
      for (const event of events) {
        for (const key of event.keysChanged ?? []) {
          const value = event.target.get(key);
          if (typeof value !== 'string' || !value.startsWith('{"bench"')) continue;
          const { bench } = JSON.parse(value);
          if (bench.editor !== client.editor) latencies.push(now - bench.t);
        }
      }
    });
  }
  await sleep(500);
  const rssConnected = rssKb(args.pid);

  const expected = roomIds.length * args.editors * (args.editors - 1) * args.ticks;
  const writeStart = performance.now();
  for (let tick = 0; tick < args.ticks; tick++) {
    const tickStart = performance.now();
    for (const client of clients) {
      const value = JSON.stringify({ bench: { editor: client.editor, tick, t: performance.now() } });
      client.doc.transact(() => client.write(client.editor, value));
    }
    const spent = performance.now() - tickStart;
    if (spent < args['interval-ms']) await sleep(args['interval-ms'] - spent);
  }
  const deadline = performance.now() + args['timeout-ms'];
  while (latencies.length < expected && performance.now() < deadline) await sleep(50);
  const elapsedS = (performance.now() - writeStart) / 1000;
  const rssAfter = rssKb(args.pid);

  latencies.sort((a, b) => a - b);
  const connections = clients.length;
  const result = {
    target: args.target,
    rooms: roomIds.length,
    editors: args.editors,
    connections,
    connect_ms: Math.round(connectMs),
    updates: connections * args.ticks,
    updates_per_s: (connections * args.ticks) / elapsedS,
    deliveries: latencies.length,
    expected_deliveries: expected,
    p50_ms: percentile(latencies, 50),
    p99_ms: percentile(latencies, 99),
    max_ms: latencies.length ? latencies[latencies.length - 1] : null,
    server_rss_before_kb: rssBefore,
    server_rss_connected_kb: rssConnected,
    server_rss_after_kb: rssAfter,
    server_rss_per_connection_kb:
      rssBefore !== null && rssAfter !== null ? (Math.max(rssConnected, rssAfter) - rssBefore) / connections : null,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  for (const client of clients) client.provider.destroy();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`fanout: ${err.stack ?? err}\n`);
  process.exit(1);
});
