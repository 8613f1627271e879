// The example against a live tidings serve with TLS and a token (scripts/client_server.py).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { EventType } from "../gen/tidings/v1/event_pb.js";
import { ListenerScope, ListenerService, Profile } from "../gen/tidings/v1/listener_pb.js";
import { WorkflowService } from "../gen/tidings/v1/workflow_pb.js";
import { definition, dial, outputOf, run, succeeded } from "../example.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

interface Server {
  address: string;
  token: string;
  ca_file: string;
  receiver: string;
}

let launcher: ChildProcess;
let server: Server;

before(async () => {
  const python = process.env.TIDINGS_PYTHON ?? `${ROOT}.venv/bin/python`;
  launcher = spawn(python, [`${ROOT}scripts/client_server.py`], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: launcher.stdout! });
  const [line] = (await Promise.race([
    once(lines, "line"),
    once(launcher, "exit").then(() => {
      throw new Error("scripts/client_server.py exited before printing its address");
    }),
  ])) as [string];
  server = JSON.parse(line) as Server;
});

after(async () => {
  // End of file on its stdin stops the launcher and its server.
  const exited = once(launcher, "exit");
  launcher.stdin!.end();
  await exited;
});

/** The field paths of a google.rpc.BadRequest detail of the error (decoded by hand:
 * connect-es reads details by schema, and google.rpc's are not among ours). */
function fieldViolations(err: ConnectError): string[] {
  const fields: string[] = [];
  for (const detail of err.details) {
    if (!("type" in detail) || detail.type !== "google.rpc.BadRequest") continue;
    const outer = new BinaryReader(detail.value);
    while (outer.pos < outer.len) {
      const [no, wire] = outer.tag();
      if (no !== 1) {
        outer.skip(wire);
        continue;
      }
      // FieldViolation: 1 field, 2 description.
      const inner = new BinaryReader(outer.bytes());
      while (inner.pos < inner.len) {
        const [f, w] = inner.tag();
        if (f === 1) fields.push(inner.string());
        else inner.skip(w);
      }
    }
  }
  return fields;
}

/** The google.rpc.ErrorInfo details of the error, decoded by hand like the BadRequest:
 * their reason (field 1) and domain (field 2). */
function errorInfos(err: ConnectError): { reason: string; domain: string }[] {
  const infos: { reason: string; domain: string }[] = [];
  for (const detail of err.details) {
    if (!("type" in detail) || detail.type !== "google.rpc.ErrorInfo") continue;
    const info = { reason: "", domain: "" };
    const reader = new BinaryReader(detail.value);
    while (reader.pos < reader.len) {
      const [no, wire] = reader.tag();
      if (no === 1) info.reason = reader.string();
      else if (no === 2) info.domain = reader.string();
      else reader.skip(wire);
    }
    infos.push(info);
  }
  return infos;
}

async function received(path: string): Promise<Set<string>> {
  const reply = await fetch(`${server.receiver}/received${path}`);
  return new Set((await reply.text()).split(/\s+/).filter(Boolean));
}

test("a workflow over TLS with a token", async () => {
  const transport = dial(server.address, server.ca_file, server.token);
  const name = `greet_ts_${Date.now()}`;
  const hook = `/hooks/${name}`;

  const created = await createClient(ListenerService, transport).createListener({
    listener: {
      name: `hook-${name}`,
      scope: ListenerScope.GLOBAL,
      filter: { workflows: [name] },
      profile: Profile.CLOUDEVENTS,
      transport: { case: "webhook", value: { url: server.receiver + hook } },
    },
  });
  assert.match(created.signingSecret, /^whsec_/);

  const log: string[] = [];
  const { events, execution } = await run(transport, name, (line) => log.push(line));
  assert.ok(succeeded(execution), log.join("\n"));
  assert.deepEqual(outputOf(execution), { greeting: "hello deno x3" });
  assert.equal(events[0]?.type, EventType.EXECUTION_STARTED);
  assert.equal(events.at(-1)?.type, EventType.EXECUTION_SUCCEEDED);
  events.forEach((event, i) => assert.equal(event.sequence, BigInt(i + 1)));

  // A bad definition: INVALID_ARGUMENT with a BadRequest naming the field.
  const workflows = createClient(WorkflowService, transport);
  const bad = definition(`${name}_bad`).replace(
    "publish:",
    "on-success: [nowhere]\n      publish:",
  );
  const refused = await workflows.createWorkflow({ definition: bad }).then(
    () => assert.fail("a bad definition was accepted"),
    (err: unknown) => ConnectError.from(err),
  );
  assert.equal(refused.code, Code.InvalidArgument);
  const fields = fieldViolations(refused);
  assert.ok(fields.some((f) => f.includes("greet")), `field violations ${fields}`);
  // After the BadRequest, every error carries a google.rpc.ErrorInfo in tidings' domain.
  assert.deepEqual(errorInfos(refused), [{ reason: "INVALID_ARGUMENT", domain: "tidings.dev" }]);

  // The listener got every event the stream showed (polled until then, within a bound).
  const want = events.map((e) => e.id);
  const deadline = Date.now() + 60_000;
  let got = await received(hook);
  while (!want.every((id) => got.has(id)) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    got = await received(hook);
  }
  assert.deepEqual(want.filter((id) => !got.has(id)), [], `the listener got ${[...got]}`);

  // Without the token the same service refuses.
  const anonymous = createClient(WorkflowService, dial(server.address, server.ca_file));
  const denied = await anonymous.listWorkflows({}).then(
    () => assert.fail("served without a token"),
    (err: unknown) => ConnectError.from(err),
  );
  assert.equal(denied.code, Code.Unauthenticated);
});
