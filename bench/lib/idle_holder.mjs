// Child process for bench/idle_memory.mjs: the upstream of the idle-memory runs, in its own process
// so that its sockets do not count against the client's fd limit.
//   node idle_holder.mjs PORT tcp    accept and hold connections, never read or write
//   node idle_holder.mjs PORT http   a keep-alive HTTP/1.1 origin answering every request with 1 KiB
// Reports {ready}, then answers {count} messages with the number of open connections (IPC).
import http from "node:http";
import net from "node:net";

const [port, mode] = [Number(process.argv[2]), process.argv[3]];
const sockets = new Set();
const track = (s) => {
  sockets.add(s);
  s.on("error", () => {});
  s.on("close", () => sockets.delete(s));
};
const body = Buffer.alloc(1024, 0x61);
const server = mode === "http"
  ? http.createServer({ keepAliveTimeout: 600000 }, (req, res) => {
    req.resume();
    req.on("end", () => res.end(body));
  })
  : net.createServer(track);
if (mode === "http") server.on("connection", track);
server.maxConnections = 100000;
server.listen({ port, host: "127.0.0.1", backlog: 4096 }, () => process.send({ ready: true }));
process.on("message", (m) => {
  if (m === "count") process.send({ count: sockets.size });
});
process.on("disconnect", () => process.exit(0));
