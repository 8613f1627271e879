// Command example runs one workflow on a tidings server over TLS with an API token:
// it creates the workflow, starts an execution with structured input and watches its
// events to the end.
//
//	TIDINGS_ADDRESS=127.0.0.1:50051 TIDINGS_TOKEN=tdg_... TIDINGS_CA_FILE=ca.pem go run ./example
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/types/known/structpb"

	tidingsv1 "tidings.dev/clients/go/gen/tidings/v1"
)

// Definition is the example workflow: it greets its input `name` once per tag.
func Definition(name string) string {
	return fmt.Sprintf(`version: '2.0'
%s:
  input: [name, tags]
  output:
    greeting: <%% $.greeting %%>
  tasks:
    greet:
      action: std.echo output="hello <%% $.name %%> x<%% len($.tags) %%>"
      publish: {greeting: <%% task().result %%>}
`, name)
}

// bearer sends the API token with every call; it refuses to travel without TLS.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }

// Dial connects to address over TLS, trusting the CA certificates in caFile.
func Dial(address, caFile, token string) (*grpc.ClientConn, error) {
	creds, err := credentials.NewClientTLSFromFile(caFile, "")
	if err != nil {
		return nil, err
	}
	return grpc.NewClient(address,
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(bearer(token)))
}

// The few places that build inputs and read outputs and states.

// StructuredInput is an execution input as the API takes it (a google.protobuf.Struct).
func StructuredInput(input map[string]any) (*structpb.Struct, error) {
	return structpb.NewStruct(input)
}

// OutputOf is an execution's output as a map (the output Value's object; an output
// that is not an object is an error).
func OutputOf(execution *tidingsv1.Execution) (map[string]any, error) {
	out, ok := execution.GetOutput().AsInterface().(map[string]any)
	if !ok {
		return nil, fmt.Errorf("output %v is not an object", execution.GetOutput())
	}
	return out, nil
}

// IsEnd says whether an event ends its execution's run.
func IsEnd(event *tidingsv1.StreamedEvent) bool {
	switch event.GetType() {
	case tidingsv1.EventType_EVENT_TYPE_EXECUTION_SUCCEEDED,
		tidingsv1.EventType_EVENT_TYPE_EXECUTION_FAILED,
		tidingsv1.EventType_EVENT_TYPE_EXECUTION_CANCELLED,
		tidingsv1.EventType_EVENT_TYPE_EXECUTION_TIMED_OUT:
		return true
	}
	return false
}

// Succeeded says whether the execution ended in success.
func Succeeded(execution *tidingsv1.Execution) bool {
	return execution.GetState() == tidingsv1.ExecutionState_EXECUTION_STATE_SUCCESS
}

// Run creates the workflow, starts it, and returns the execution's events up to its end
// and the ended execution; it prints what happens to out.
func Run(ctx context.Context, conn *grpc.ClientConn, workflow string, out io.Writer) ([]*tidingsv1.StreamedEvent, *tidingsv1.Execution, error) {
	workflows := tidingsv1.NewWorkflowServiceClient(conn)
	executions := tidingsv1.NewExecutionServiceClient(conn)
	events := tidingsv1.NewEventServiceClient(conn)

	created, err := workflows.CreateWorkflow(ctx, &tidingsv1.CreateWorkflowRequest{Definition: Definition(workflow)})
	if err != nil {
		return nil, nil, fmt.Errorf("CreateWorkflow: %w", err)
	}
	fmt.Fprintf(out, "workflow %s (%s)\n", created.GetWorkflow().GetName(), created.GetWorkflow().GetId())

	// The stream first, from the beginning of this (new) workflow's events, so that
	// nothing of the execution is missed.
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := events.WatchEvents(watchCtx, &tidingsv1.WatchEventsRequest{
		Filter:        &tidingsv1.ListenerFilter{Workflows: []string{workflow}},
		FromBeginning: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("WatchEvents: %w", err)
	}

	input, err := StructuredInput(map[string]any{"name": "gopher", "tags": []any{"a", "b", "c"}})
	if err != nil {
		return nil, nil, err
	}
	started, err := executions.StartExecution(ctx, &tidingsv1.StartExecutionRequest{Workflow: workflow, Input: input})
	if err != nil {
		return nil, nil, fmt.Errorf("StartExecution: %w", err)
	}
	id := started.GetExecution().GetId()
	fmt.Fprintf(out, "execution %s\n", id)

	var seen []*tidingsv1.StreamedEvent
	for {
		batch, err := stream.Recv()
		if err != nil {
			return seen, nil, fmt.Errorf("WatchEvents: %w", err)
		}
		for _, event := range batch.GetEvents() {
			if event.GetExecutionId() != id {
				continue
			}
			seen = append(seen, event)
			fmt.Fprintf(out, "  %d %s %s\n", event.GetSequence(), event.GetType(), event.GetTaskName())
			if IsEnd(event) {
				ended, err := executions.GetExecution(ctx, &tidingsv1.GetExecutionRequest{Id: id})
				if err != nil {
					return seen, nil, fmt.Errorf("GetExecution: %w", err)
				}
				return seen, ended.GetExecution(), nil
			}
		}
	}
}

func main() {
	conn, err := Dial(os.Getenv("TIDINGS_ADDRESS"), os.Getenv("TIDINGS_CA_FILE"), os.Getenv("TIDINGS_TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := fmt.Sprintf("greet_go_%d", time.Now().UnixNano())
	_, execution, err := Run(ctx, conn, name, os.Stdout)
	if err != nil {
		log.Fatal(err)
	}
	output, err := OutputOf(execution)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %v\n", execution.GetState(), output)
}
