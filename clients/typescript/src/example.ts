// Runs one workflow on a tidings server over TLS with an API token: creates the
// workflow, starts an execution with structured input and watches its events to the end.
//
//   TIDINGS_ADDRESS=127.0.0.1:50051 TIDINGS_TOKEN=tdg_... TIDINGS_CA_FILE=ca.pem npm run example
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { EventType } from "./gen/tidings/v1/event_pb.js";
import { EventService, type StreamedEvent } from "./gen/tidings/v1/event_service_pb.js";
import {
  ExecutionService,
  ExecutionState,
  type Execution,
} from "./gen/tidings/v1/execution_pb.js";
import { WorkflowService } from "./gen/tidings/v1/workflow_pb.js";

/** The example workflow: it greets its input `name` once per tag. */
export function definition(name: string): string {
  return `version: '2.0'
${name}:
  input: [name, tags]
  output:
    greeting: <% $.greeting %>
  tasks:
    greet:
      action: std.echo output="hello <% $.name %> x<% len($.tags) %>"
      publish: {greeting: <% task().result %>}
`;
}

/** A gRPC (HTTP/2, TLS) transport trusting caFile's CAs, sending the token if given. */
export function dial(address: string, caFile: string, token?: string): Transport {
  const bearer: Interceptor = (next) => async (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  return createGrpcTransport({
    baseUrl: `https://${address}`,
    nodeOptions: { ca: readFileSync(caFile) },
    interceptors: [bearer],
  });
}

// The few places that build inputs and read outputs and states.

/** An execution input as the API takes it (a google.protobuf.Struct, which protobuf-es
 * types as a plain JSON object). */
export function structuredInput(input: JsonObject): JsonObject {
  return input;
}

/** An execution's output (a google.protobuf.Value) as plain JSON. */
export function outputOf(execution: Execution): JsonValue {
  return execution.output ? toJson(ValueSchema, execution.output) : null;
}

/** Whether an event ends its execution's run. */
export function isEnd(event: StreamedEvent): boolean {
  return [
    EventType.EXECUTION_SUCCEEDED,
    EventType.EXECUTION_FAILED,
    EventType.EXECUTION_CANCELLED,
    EventType.EXECUTION_TIMED_OUT,
  ].includes(event.type);
}

/** Whether the execution ended in success. */
export function succeeded(execution: Execution): boolean {
  return execution.state === ExecutionState.SUCCESS;
}

/**
 * Creates the workflow, starts it, and returns its events up to its end and the ended
 * execution; logs what happens with `log`.
 */
export async function run(
  transport: Transport,
  workflow: string,
  log: (line: string) => void,
): Promise<{ events: StreamedEvent[]; execution: Execution }> {
  const workflows = createClient(WorkflowService, transport);
  const executions = createClient(ExecutionService, transport);
  const events = createClient(EventService, transport);

  const created = await workflows.createWorkflow({ definition: definition(workflow) });
  log(`workflow ${created.workflow?.name} (${created.workflow?.id})`);

  // The stream first, from the beginning of this (new) workflow's events, so that
  // nothing of the execution is missed; aborting ends it.
  const watch = new AbortController();
  const stream = events.watchEvents(
    { filter: { workflows: [workflow] }, fromBeginning: true },
    { signal: watch.signal },
  )[Symbol.asyncIterator]();
  // The call goes out with the first read: start it before the execution.
  const first = stream.next();
  // Handled below; this only keeps an early failure from being an unhandled rejection.
  first.catch(() => undefined);
  try {
    const started = await executions.startExecution({
      workflow,
      input: structuredInput({ name: "deno", tags: ["a", "b", "c"] }),
    });
    const id = started.execution?.id ?? "";
    log(`execution ${id}`);
    const seen: StreamedEvent[] = [];
    for (let next = await first; !next.done; next = await stream.next()) {
      for (const event of next.value.events) {
        if (event.executionId !== id) continue;
        seen.push(event);
        log(`  ${event.sequence} ${EventType[event.type]} ${event.taskName}`);
        if (isEnd(event)) {
          const ended = await executions.getExecution({ id });
          return { events: seen, execution: ended.execution! };
        }
      }
    }
    throw new Error("the event stream ended early");
  } finally {
    watch.abort();
  }
}

async function main(): Promise<void> {
  const env = process.env;
  const transport = dial(env.TIDINGS_ADDRESS ?? "", env.TIDINGS_CA_FILE ?? "", env.TIDINGS_TOKEN);
  const { execution } = await run(transport, `greet_ts_${Date.now()}`, console.log);
  console.log(`${ExecutionState[execution.state]}:`, outputOf(execution));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
