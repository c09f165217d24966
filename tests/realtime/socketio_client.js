// Driven by tests/realtime/test_socketio_node.py: the real socket.io-client from npm
// connects to /market as the frontend does, subscribes to one order book, and prints what
// it received as one JSON line. Exits non-zero if nothing arrives in time.
const { io } = require("socket.io-client");

const [url, exchange, symbol] = process.argv.slice(2);
const socket = io(`${url}/market`, { reconnection: false, timeout: 60000 });
const seen = { connected: null, books: [], errors: [] };
const done = (code) => {
  process.stdout.write(JSON.stringify(seen) + "\n");
  socket.close();
  process.exit(code);
};
setTimeout(() => done(2), 90000);
socket.on("connected", (payload) => {
  seen.connected = payload;
  socket.emit("subscribeOrderBook", { exchange, symbol });
  socket.emit("subscribeOrderBook", { exchange, symbol: "NOPE/USDT" });
});
socket.on("error", (payload) => seen.errors.push(payload));
socket.on("orderBookData", (payload) => {
  seen.books.push(payload);
  if (seen.books.length >= 2 && seen.errors.length >= 1) done(0);
});
socket.on("connect_error", (err) => {
  seen.errors.push({ message: String(err) });
  done(3);
});
