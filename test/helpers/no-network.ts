// Set-up of the unit tests (vitest.config.ts): they use no network and no DynamoDB, so any socket or server they
// open fails loudly. A test that needs either belongs in test/integration/.
import net from "node:net";

const refuse = (what: string) => () => {
  throw new Error(`a unit test may not ${what}: move it to test/integration/`);
};
net.Socket.prototype.connect = refuse("open a socket") as typeof net.Socket.prototype.connect;
net.Server.prototype.listen = refuse("listen on a port") as typeof net.Server.prototype.listen;
