// pylog:handlers/udp-datagrams for Node: not offered. The component then
// sends its datagrams through wasi:sockets (preview2-shim), as with any
// host that lacks the capability.
export function sendDatagrams(_address, _port, datagrams) {
  return datagrams.map(() => ({ tag: 'err', val: { tag: 'unsupported', val: 'this Node.js host sends no datagrams for the plugin' } }));
}
