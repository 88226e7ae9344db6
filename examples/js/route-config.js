// pylog:handlers/route-config for Node: the wasi:logging route has no
// handlers unless `logRouting.configure` is called.
export const handlers = () => [];
