package kongtest

import (
	"strings"
	"testing"

	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestSimulationRefusesUnknownMethods(t *testing.T) {
	t.Parallel()
	sim := newSimulation(Request{})
	_, _, err := sim.call("kong.cache.get", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown PDK method "kong.cache.get"`) {
		t.Errorf("unknown method: %v", err)
	}
	if _, _, err := sim.call("kong.nginx.get_var", mustMarshal(t, &pb.String{V: "remote_addr"})); err == nil {
		t.Errorf("an nginx variable the harness does not simulate was answered")
	}
}

func TestSimulationHeadersAsKong(t *testing.T) {
	t.Parallel()
	sim := newSimulation(Request{Headers: Headers("X-A", "1", "x-a", "2", "X_B", "3", "C", "4")})

	reply, _, err := sim.call("kong.request.get_headers", mustMarshal(t, &pb.Int{V: 3}))
	if err != nil {
		t.Fatal(err)
	}
	var st structpb.Struct
	if err := proto.Unmarshal(reply, &st); err != nil {
		t.Fatal(err)
	}
	got := st.AsMap()
	if len(got) != 2 || got["x_b"] != "3" || len(got["x-a"].([]any)) != 2 {
		t.Errorf("get_headers(3) = %v, want x-a as a list of two, x_b, and no c (truncated)", got)
	}
	if _, _, err := sim.call("kong.request.get_headers", mustMarshal(t, &pb.Int{V: 1001})); err == nil {
		t.Errorf("max_headers above 1000 accepted")
	}

	reply, _, err = sim.call("kong.request.get_header", mustMarshal(t, &pb.String{V: "x-b"}))
	if err != nil {
		t.Fatal(err)
	}
	var s pb.String
	if err := proto.Unmarshal(reply, &s); err != nil || s.V != "3" {
		t.Errorf("get_header(x-b) = %q, want the X_B value (nginx reads _ as -)", s.V)
	}
	if reply, _, _ := sim.call("kong.request.get_header", mustMarshal(t, &pb.String{V: "missing"})); len(reply) != 0 {
		t.Errorf("a missing header is answered %x, want an empty frame", reply)
	}

	if _, _, err := sim.call("kong.service.request.clear_header", mustMarshal(t, &pb.String{V: "X-A"})); err != nil {
		t.Fatal(err)
	}
	if vals := sim.result.UpstreamValues("x-a"); len(vals) != 0 {
		t.Errorf("cleared header still upstream: %v", vals)
	}
	if _, exit, err := sim.call("kong.response.exit", mustMarshal(t, &pb.ExitArgs{Status: 401})); err != nil || !exit {
		t.Errorf("exit: %v %v", exit, err)
	}
	if !sim.result.Exited || sim.result.Status != 401 || sim.result.PDKCalls() != 6 {
		t.Errorf("result %+v", sim.result)
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
