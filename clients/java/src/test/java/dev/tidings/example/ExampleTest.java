package dev.tidings.example;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import dev.tidings.v1.CreateListenerRequest;
import dev.tidings.v1.CreateWorkflowRequest;
import dev.tidings.v1.EventType;
import dev.tidings.v1.Listener;
import dev.tidings.v1.ListenerFilter;
import dev.tidings.v1.ListenerScope;
import dev.tidings.v1.ListenerServiceGrpc;
import dev.tidings.v1.ListWorkflowsRequest;
import dev.tidings.v1.Profile;
import dev.tidings.v1.StreamedEvent;
import dev.tidings.v1.WebhookTransport;
import dev.tidings.v1.WorkflowServiceGrpc;
import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The example against a live tidings serve with TLS and a token (scripts/client_server.py). */
class ExampleTest {
  private static Process launcher;
  private static String address;
  private static String token;
  private static String caFile;
  private static String receiver;

  private static String field(String json, String name) {
    // The launcher's line is flat JSON of strings; no JSON library needed for it.
    Matcher m = Pattern.compile("\"" + name + "\": \"([^\"]*)\"").matcher(json);
    if (!m.find()) {
      throw new IllegalStateException("no " + name + " in " + json);
    }
    return m.group(1);
  }

  @BeforeAll
  static void startServer() throws Exception {
    Path root = Path.of("../..").toAbsolutePath().normalize();
    String python = System.getenv().getOrDefault("TIDINGS_PYTHON",
        root.resolve(".venv/bin/python").toString());
    launcher = new ProcessBuilder(python, root.resolve("scripts/client_server.py").toString())
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    String line = new BufferedReader(new InputStreamReader(
        launcher.getInputStream(), StandardCharsets.UTF_8)).readLine();
    if (line == null) {
      throw new IllegalStateException("scripts/client_server.py printed no address");
    }
    address = field(line, "address");
    token = field(line, "token");
    caFile = field(line, "ca_file");
    receiver = field(line, "receiver");
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (launcher != null) {
      // End of file on its stdin stops the launcher and its server.
      try (OutputStream stdin = launcher.getOutputStream()) {
        stdin.flush();
      }
      launcher.waitFor(30, TimeUnit.SECONDS);
    }
  }

  private static Set<String> received(String path) throws Exception {
    HttpResponse<String> reply = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create(receiver + "/received" + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    return new HashSet<>(List.of(reply.body().split("\\s+")));
  }

  @Test
  void workflowOverTlsWithToken() throws Exception {
    ManagedChannel channel = Example.dial(address, caFile);
    CallCredentials credentials = Example.token(token);
    try {
      String name = "greet_java_" + System.nanoTime();
      String hook = "/hooks/" + name;
      var created = ListenerServiceGrpc.newBlockingStub(channel)
          .withCallCredentials(credentials).withDeadlineAfter(30, TimeUnit.SECONDS)
          .createListener(CreateListenerRequest.newBuilder().setListener(Listener.newBuilder()
              .setName("hook-" + name)
              .setScope(ListenerScope.LISTENER_SCOPE_GLOBAL)
              .setFilter(ListenerFilter.newBuilder().addWorkflows(name))
              .setProfile(Profile.PROFILE_CLOUDEVENTS)
              .setWebhook(WebhookTransport.newBuilder().setUrl(receiver + hook)))
              .build());
      assertTrue(created.getSigningSecret().startsWith("whsec_"));

      ByteArrayOutputStream log = new ByteArrayOutputStream();
      Example.Outcome outcome = Example.run(channel, credentials, name,
          new PrintStream(log, true, StandardCharsets.UTF_8));
      assertTrue(Example.succeeded(outcome.execution()), log.toString(StandardCharsets.UTF_8));
      assertEquals("hello duke x3",
          Example.outputOf(outcome.execution()).getStructValue()
              .getFieldsOrThrow("greeting").getStringValue());
      List<StreamedEvent> events = outcome.events();
      assertEquals(EventType.EVENT_TYPE_EXECUTION_STARTED, events.get(0).getType());
      assertEquals(EventType.EVENT_TYPE_EXECUTION_SUCCEEDED,
          events.get(events.size() - 1).getType());
      for (int i = 0; i < events.size(); i++) {
        assertEquals(i + 1, events.get(i).getSequence());
      }

      // A bad definition: INVALID_ARGUMENT with a BadRequest naming the field.
      var workflows = WorkflowServiceGrpc.newBlockingStub(channel)
          .withCallCredentials(credentials).withDeadlineAfter(30, TimeUnit.SECONDS);
      String bad = Example.definition(name + "_bad")
          .replace("publish:", "on-success: [nowhere]\n      publish:");
      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
          () -> workflows.createWorkflow(
              CreateWorkflowRequest.newBuilder().setDefinition(bad).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode());
      List<String> fields = new ArrayList<>();
      for (Any detail : StatusProto.fromThrowable(refused).getDetailsList()) {
        if (detail.is(BadRequest.class)) {
          detail.unpack(BadRequest.class).getFieldViolationsList()
              .forEach(v -> fields.add(v.getField()));
        }
      }
      assertFalse(fields.isEmpty(), "no field violation");
      assertTrue(String.join(" ", fields).contains("greet"), fields.toString());
      // After the BadRequest, every error carries a google.rpc.ErrorInfo in tidings' domain.
      List<ErrorInfo> infos = new ArrayList<>();
      for (Any detail : StatusProto.fromThrowable(refused).getDetailsList()) {
        if (detail.is(ErrorInfo.class)) {
          infos.add(detail.unpack(ErrorInfo.class));
        }
      }
      assertEquals(1, infos.size(), "no ErrorInfo");
      assertEquals("tidings.dev", infos.get(0).getDomain());
      assertEquals("INVALID_ARGUMENT", infos.get(0).getReason());

      // The listener got every event the stream showed (polled until then, within a
      // bound).
      Set<String> want = new HashSet<>();
      events.forEach(e -> want.add(e.getId()));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      Set<String> got = received(hook);
      while (!got.containsAll(want) && System.nanoTime() < deadline) {
        Thread.sleep(100);
        got = received(hook);
      }
      assertTrue(got.containsAll(want), "the listener got " + got + ", the stream showed " + want);

      // Without the token the same service refuses.
      StatusRuntimeException anonymous = assertThrows(StatusRuntimeException.class,
          () -> WorkflowServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .listWorkflows(ListWorkflowsRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getStatus().getCode());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }
}
