// The pylog-handlers component in Node.js, transpiled by jco.
//
// 1. The pure exports: make-pickle (SocketHandler's frame) and
//    encode-priority, the frame shipped with Node's own `net`.
// 2. A SocketHandler opened inside the component: it connects through
//    preview2-shim's wasi:sockets, which Node implements.
//
// usage: node ship.mjs HOST PORT   (after `npm run transpile`)
import net from 'node:net';
import { handlers } from './out/pylog_handlers.js';

const [host, port] = [process.argv[2], Number(process.argv[3])];

const record = (msg, args) => ({
  name: 'js.host',
  msg,
  args: { tag: 'positional', val: args.map((a) => ({ tag: typeof a === 'number' ? 'int' : 'str', val: typeof a === 'number' ? BigInt(a) : a })) },
  levelname: 'WARNING',
  levelno: 30n,
  pathname: 'ship.mjs',
  filename: 'ship.mjs',
  module: 'ship',
  lineno: 1n,
  created: Date.now() / 1000,
  msecs: Date.now() % 1000,
  relativeCreated: 0,
  extra: [['runtime', { tag: 'str', val: `node ${process.version}` }]],
});

const frame = handlers.makePickle(record('disk %s is %d%% full', ['/var', 91]), 3);
const priority = handlers.encodePriority({ tag: 'name', val: 'local3' }, { tag: 'name', val: 'warning' });

await new Promise((resolve, reject) => {
  const socket = net.connect(port, host, () => socket.end(frame, resolve));
  socket.on('error', reject);
});

const handler = handlers.Handler.open({
  name: 'js',
  kind: {
    tag: 'socket',
    val: [
      { tag: 'tcp', val: { host, port } },
      { pickleProtocol: 3, retryStart: 1, retryFactor: 2, retryMax: 30, closeOnError: false, ackWindow: 0 },
    ],
  },
  dryRun: false,
  level: 0n,
  formatter: { style: 'percent', utcOffsetSeconds: 0, tzName: 'UTC' },
  spool: { maxRecords: 1000, maxBytes: 1n << 20n, overflow: 'drop-oldest', blockTimeout: 1, flushTimeout: 5, writeTimeout: 1 },
});
handler.emit(record('sent from inside the component: %s', ['wasi:sockets']));
handler.close();
const stats = handler.stats();
console.log(JSON.stringify({ frameBytes: frame.length, priority, sentByComponent: Number(stats.sent) }));
