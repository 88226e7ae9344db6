// pylog:handlers/unix-sockets for Node: not offered. The component then
// answers `unsupported` for unix destinations, as with any host that lacks
// the capability; everything else works.
const unsupported = () => {
  throw { tag: 'unsupported', val: 'this Node.js host offers no unix sockets' };
};
export class UnixStream {
  static connect() {
    unsupported();
  }
  send() {
    unsupported();
  }
}
export const sendDatagram = unsupported;
