package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tidingsv1 "tidings.dev/clients/go/gen/tidings/v1"
)

// server is what scripts/client_server.py prints: a TLS, token-protected tidings serve
// and a webhook receiver, both on 127.0.0.1.
type server struct {
	Address  string `json:"address"`
	Token    string `json:"token"`
	CAFile   string `json:"ca_file"`
	Receiver string `json:"receiver"`
}

// startServer runs the shared launcher; closing its stdin (at cleanup) stops it.
func startServer(t *testing.T) server {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	python := os.Getenv("TIDINGS_PYTHON")
	if python == "" {
		python = filepath.Join(root, ".venv", "bin", "python")
	}
	cmd := exec.Command(python, filepath.Join(root, "scripts", "client_server.py"))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", python, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("scripts/client_server.py printed no address: %v", err)
	}
	var s server
	if err := json.Unmarshal(line, &s); err != nil {
		t.Fatalf("scripts/client_server.py: %v in %q", err, line)
	}
	return s
}

// received lists the webhook-ids delivered to the receiver's path.
func received(receiver, path string) ([]string, error) {
	resp, err := http.Get(receiver + "/received" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(body)), nil
}

func TestWorkflowOverTLSWithToken(t *testing.T) {
	srv := startServer(t)
	conn, err := Dial(srv.Address, srv.CAFile, srv.Token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := fmt.Sprintf("greet_go_%d", time.Now().UnixNano())

	// A webhook listener for the workflow's events, to the receiver.
	hook := "/hooks/" + name
	listeners := tidingsv1.NewListenerServiceClient(conn)
	created, err := listeners.CreateListener(ctx, &tidingsv1.CreateListenerRequest{
		Listener: &tidingsv1.Listener{
			Name:    "hook-" + name,
			Scope:   tidingsv1.ListenerScope_LISTENER_SCOPE_GLOBAL,
			Filter:  &tidingsv1.ListenerFilter{Workflows: []string{name}},
			Profile: tidingsv1.Profile_PROFILE_CLOUDEVENTS,
			Transport: &tidingsv1.Listener_Webhook{
				Webhook: &tidingsv1.WebhookTransport{Url: srv.Receiver + hook},
			},
		},
	})
	if err != nil {
		t.Fatalf("CreateListener: %v", err)
	}
	if !strings.HasPrefix(created.GetSigningSecret(), "whsec_") {
		t.Fatalf("signing secret %q", created.GetSigningSecret())
	}

	// The example: create, start with structured input, watch to the end.
	var log bytes.Buffer
	events, execution, err := Run(ctx, conn, name, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !Succeeded(execution) {
		t.Fatalf("execution %s: %s", execution.GetState(), execution.GetErrorMessage())
	}
	output, err := OutputOf(execution)
	if err != nil {
		t.Fatal(err)
	}
	if output["greeting"] != "hello gopher x3" {
		t.Fatalf("output %v", output)
	}
	if events[0].GetType() != tidingsv1.EventType_EVENT_TYPE_EXECUTION_STARTED ||
		events[len(events)-1].GetType() != tidingsv1.EventType_EVENT_TYPE_EXECUTION_SUCCEEDED {
		t.Fatalf("events:\n%s", log.String())
	}
	for i, event := range events {
		if event.GetSequence() != uint64(i+1) {
			t.Fatalf("event %d has sequence %d:\n%s", i, event.GetSequence(), log.String())
		}
	}

	// A bad definition: INVALID_ARGUMENT with a BadRequest naming the field.
	workflows := tidingsv1.NewWorkflowServiceClient(conn)
	bad := strings.Replace(Definition(name+"_bad"), "publish:", "on-success: [nowhere]\n      publish:", 1)
	_, err = workflows.CreateWorkflow(ctx, &tidingsv1.CreateWorkflowRequest{Definition: bad})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("bad definition: %v", err)
	}
	var fields []string
	for _, detail := range st.Details() {
		if br, ok := detail.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	if len(fields) == 0 || !strings.Contains(strings.Join(fields, " "), "greet") {
		t.Fatalf("field violations %v in %v", fields, st.Details())
	}
	// After the BadRequest, every error carries a google.rpc.ErrorInfo in tidings' domain.
	var info *errdetails.ErrorInfo
	for _, detail := range st.Details() {
		if ei, ok := detail.(*errdetails.ErrorInfo); ok {
			info = ei
		}
	}
	if info == nil || info.GetDomain() != "tidings.dev" || info.GetReason() != "INVALID_ARGUMENT" {
		t.Fatalf("error info %v in %v", info, st.Details())
	}

	// The listener got every event the stream showed (the receiver is polled until
	// then; the test's deadline bounds the wait).
	want := map[string]bool{}
	for _, event := range events {
		want[event.GetId()] = true
	}
	for {
		ids, err := received(srv.Receiver, hook)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, id := range ids {
			got[id] = true
		}
		missing := 0
		for id := range want {
			if !got[id] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the listener got %v, the stream showed %d events", ids, len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Without the token the same call is refused.
	plain, err := Dial(srv.Address, srv.CAFile, "")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, err = tidingsv1.NewWorkflowServiceClient(plain).ListWorkflows(ctx, &tidingsv1.ListWorkflowsRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("without a token: %v", err)
	}
}
