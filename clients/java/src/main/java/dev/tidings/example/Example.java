package dev.tidings.example;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import com.google.protobuf.util.JsonFormat;
import dev.tidings.v1.CreateWorkflowRequest;
import dev.tidings.v1.CreateWorkflowResponse;
import dev.tidings.v1.EventServiceGrpc;
import dev.tidings.v1.EventType;
import dev.tidings.v1.Execution;
import dev.tidings.v1.ExecutionServiceGrpc;
import dev.tidings.v1.ExecutionState;
import dev.tidings.v1.GetExecutionRequest;
import dev.tidings.v1.ListenerFilter;
import dev.tidings.v1.StartExecutionRequest;
import dev.tidings.v1.StreamedEvent;
import dev.tidings.v1.WatchEventsRequest;
import dev.tidings.v1.WatchEventsResponse;
import dev.tidings.v1.WorkflowServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.Context;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * Runs one workflow on a tidings server over TLS with an API token: creates the workflow,
 * starts an execution with structured input and watches its events to the end.
 *
 * <pre>TIDINGS_ADDRESS=127.0.0.1:50051 TIDINGS_TOKEN=tdg_... TIDINGS_CA_FILE=ca.pem \
 *   mvn -q compile exec:java</pre>
 */
public final class Example {
  private Example() {}

  /** The example workflow: it greets its input {@code name} once per tag. */
  public static String definition(String name) {
    return "version: '2.0'\n"
        + name + ":\n"
        + "  input: [name, tags]\n"
        + "  output:\n"
        + "    greeting: <% $.greeting %>\n"
        + "  tasks:\n"
        + "    greet:\n"
        + "      action: std.echo output=\"hello <% $.name %> x<% len($.tags) %>\"\n"
        + "      publish: {greeting: <% task().result %>}\n";
  }

  /** Sends the API token with every call. */
  static final class Bearer extends CallCredentials {
    private final String token;

    Bearer(String token) {
      this.token = token;
    }

    @Override
    public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
      if (token.isEmpty()) {
        applier.apply(new Metadata());
        return;
      }
      Metadata headers = new Metadata();
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER),
          "Bearer " + token);
      applier.apply(headers);
    }
  }

  /** A TLS channel to {@code address} trusting the CA certificates in {@code caFile}. */
  public static ManagedChannel dial(String address, String caFile) throws IOException {
    return Grpc.newChannelBuilder(address,
        TlsChannelCredentials.newBuilder().trustManager(new File(caFile)).build()).build();
  }

  /** Credentials that send {@code token} as {@code authorization: Bearer}. */
  public static CallCredentials token(String token) {
    return new Bearer(token);
  }

  // The few places that build inputs and read outputs and states.

  /** An execution input as the API takes it (a google.protobuf.Struct). */
  public static Struct structuredInput(Map<String, Value> fields) {
    return Struct.newBuilder().putAllFields(fields).build();
  }

  /** An execution's output (a google.protobuf.Value: any JSON value). */
  public static Value outputOf(Execution execution) {
    return execution.getOutput();
  }

  /** Whether an event ends its execution's run. */
  public static boolean isEnd(StreamedEvent event) {
    EventType type = event.getType();
    return type == EventType.EVENT_TYPE_EXECUTION_SUCCEEDED
        || type == EventType.EVENT_TYPE_EXECUTION_FAILED
        || type == EventType.EVENT_TYPE_EXECUTION_CANCELLED
        || type == EventType.EVENT_TYPE_EXECUTION_TIMED_OUT;
  }

  /** Whether the execution ended in success. */
  public static boolean succeeded(Execution execution) {
    return execution.getState() == ExecutionState.EXECUTION_STATE_SUCCESS;
  }

  /** An ended execution and the events that led to its end, in order. */
  public record Outcome(List<StreamedEvent> events, Execution execution) {}

  /**
   * Creates the workflow, starts it, and returns its events up to its end and the ended
   * execution; prints what happens to {@code out}.
   */
  public static Outcome run(ManagedChannel channel, CallCredentials credentials,
      String workflow, PrintStream out) throws IOException {
    var workflows = WorkflowServiceGrpc.newBlockingStub(channel)
        .withCallCredentials(credentials).withDeadlineAfter(60, TimeUnit.SECONDS);
    var executions = ExecutionServiceGrpc.newBlockingStub(channel)
        .withCallCredentials(credentials).withDeadlineAfter(60, TimeUnit.SECONDS);
    var events = EventServiceGrpc.newBlockingStub(channel)
        .withCallCredentials(credentials).withDeadlineAfter(60, TimeUnit.SECONDS);

    CreateWorkflowResponse created = workflows.createWorkflow(
        CreateWorkflowRequest.newBuilder().setDefinition(definition(workflow)).build());
    out.printf("workflow %s (%s)%n", created.getWorkflow().getName(),
        created.getWorkflow().getId());

    // The stream first, from the beginning of this (new) workflow's events, so that
    // nothing of the execution is missed. Cancelling its context ends it.
    try (Context.CancellableContext watch = Context.current().withCancellation()) {
      Iterator<WatchEventsResponse> stream = watch.call(() -> events.watchEvents(
          WatchEventsRequest.newBuilder()
              .setFilter(ListenerFilter.newBuilder().addWorkflows(workflow))
              .setFromBeginning(true)
              .build()));
      Struct input = structuredInput(Map.of(
          "name", Value.newBuilder().setStringValue("duke").build(),
          "tags", Value.newBuilder().setListValue(ListValue.newBuilder()
              .addValues(Value.newBuilder().setStringValue("a"))
              .addValues(Value.newBuilder().setStringValue("b"))
              .addValues(Value.newBuilder().setStringValue("c"))).build()));
      String id = executions.startExecution(StartExecutionRequest.newBuilder()
          .setWorkflow(workflow).setInput(input).build()).getExecution().getId();
      out.printf("execution %s%n", id);

      List<StreamedEvent> seen = new ArrayList<>();
      while (stream.hasNext()) {
        for (StreamedEvent event : stream.next().getEventsList()) {
          if (!event.getExecutionId().equals(id)) {
            continue;
          }
          seen.add(event);
          out.printf("  %d %s %s%n", event.getSequence(), event.getType(), event.getTaskName());
          if (isEnd(event)) {
            Execution ended = executions.getExecution(
                GetExecutionRequest.newBuilder().setId(id).build()).getExecution();
            return new Outcome(seen, ended);
          }
        }
      }
      throw Status.DATA_LOSS.withDescription("the event stream ended early").asRuntimeException();
    } catch (IOException | RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs the example against the server the environment names. */
  public static void main(String[] args) throws Exception {
    ManagedChannel channel = dial(System.getenv("TIDINGS_ADDRESS"), System.getenv("TIDINGS_CA_FILE"));
    try {
      Outcome outcome = run(channel, token(System.getenv("TIDINGS_TOKEN")),
          "greet_java_" + System.nanoTime(), System.out);
      System.out.printf("%s: %s%n", outcome.execution().getState(),
          JsonFormat.printer().print(outputOf(outcome.execution())));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
