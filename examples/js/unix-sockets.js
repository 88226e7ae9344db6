// pylog:handlers/unix-sockets for Node: not offered. The component then
// answers `unsupported` for unix destinations, as with any host that lacks
// the capability; everything else works.
const unsupported = () => {
  throw { tag: 'unsupported', val: 'this Node.js host offers no unix sockets' };
};
export const connectStream = unsupported;
export const sendStream = unsupported;
export const closeStream = () => {};
export const sendDatagram = unsupported;
