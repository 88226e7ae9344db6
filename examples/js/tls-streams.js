// pylog:handlers/tls-streams for Node: not offered. The component then
// answers `unsupported` for TLS destinations, as with any host that lacks
// the capability; everything else works.
const unsupported = () => {
  throw { tag: 'unsupported', val: 'this Node.js host offers no TLS capability' };
};
export class TlsStream {
  static connect() {
    unsupported();
  }
  write() {
    unsupported();
  }
  readAvailable() {
    unsupported();
  }
}
