// The unit tests' set-up (test/helpers/no-network.ts) holds: a unit test that opens a server or a socket fails.
import { createServer } from "node:http";
import { connect } from "node:net";
import { expect, it } from "vitest";

it("a unit test can neither listen on a port nor open a socket", () => {
  expect(() => createServer().listen(0)).toThrow(/unit test may not listen/);
  expect(() => connect(9, "127.0.0.1")).toThrow(/unit test may not open a socket/);
});
