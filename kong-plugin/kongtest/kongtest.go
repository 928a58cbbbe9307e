// Package kongtest plays Kong's side of the external plugin protocol
// (ProtoBuf:1, as Kong 3.x speaks it) against a compiled go-pdk plugin
// server, so that the plugin is tested the way Kong runs it.
//
// It starts the binary as Kong does (-kong-prefix pointing at a private
// directory, socket <prefix>/<name>.socket), checks what -dump prints,
// starts and closes instances with configuration JSON shaped as Kong sends
// it (unset fields null, Kong's __ keys present) and drives access-phase
// events over the real socket. During an event it answers the plugin's PDK
// calls from a simulated request, records the headers the upstream would
// receive and any short-circuit response, and counts the PDK round trips.
// Like Kong it never answers kong.response.exit: it closes the connection.
// A PDK method it does not know fails the request loudly.
//
// Written from the protocol description in the shared notes and go-pdk's
// own sources (server/, bridge/, the .proto); no code comes from Kong.
package kongtest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"

	"github.com/medinsights/auth/internal/testlog"
)

// Info is what `<binary> -dump` prints, the document Kong reads with its
// query command.
type Info struct {
	Protocol   string
	SocketPath string
	Plugins    []PluginInfo
}

// PluginInfo describes one plugin of a -dump.
type PluginInfo struct {
	Name     string
	Phases   []string
	Version  string
	Priority int
	Schema   struct {
		Name   string                       `json:"name"`
		Fields []map[string]json.RawMessage `json:"fields"`
	}
}

// ConfigFields returns the schema's config fields, name to Kong type.
func (p PluginInfo) ConfigFields() (map[string]string, error) {
	for _, f := range p.Schema.Fields {
		raw, ok := f["config"]
		if !ok {
			continue
		}
		var rec struct {
			Type   string                       `json:"type"`
			Fields []map[string]json.RawMessage `json:"fields"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("decode config record: %w", err)
		}
		out := make(map[string]string, len(rec.Fields))
		for _, fld := range rec.Fields {
			for name, def := range fld {
				var d struct {
					Type string `json:"type"`
				}
				if err := json.Unmarshal(def, &d); err != nil {
					return nil, fmt.Errorf("decode field %s: %w", name, err)
				}
				out[name] = d.Type
			}
		}
		return out, nil
	}
	return nil, errors.New("schema has no config record")
}

// Dump runs `bin -dump -kong-prefix prefix` and decodes its standard
// output, which must be exactly one JSON document, as Kong requires.
func Dump(bin, prefix string) (Info, error) {
	var info Info
	cmd := exec.Command(bin, "-dump", "-kong-prefix", prefix)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return info, fmt.Errorf("%s -dump: %w: %s", bin, err, stderr.Bytes())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&info); err != nil {
		return info, fmt.Errorf("-dump stdout is not JSON: %w: %q", err, out)
	}
	if rest, _ := io.ReadAll(dec.Buffered()); len(bytes.TrimSpace(rest)) > 0 {
		return info, fmt.Errorf("-dump stdout has more than one JSON document: %q", out)
	}
	return info, nil
}

// Server is a running plugin server process, seen from Kong.
type Server struct {
	Name   string // plugin name, from -dump
	Prefix string // the -kong-prefix directory
	Socket string
	Info   PluginInfo

	bin    string
	env    []string // added to the process's environment
	cmd    *exec.Cmd
	output *testlog.Buffer
	exited chan struct{}
	fields map[string]string

	seq     atomic.Int64 // RpcCall sequence, per server like Kong's per worker
	instSeq atomic.Int32 // Kong's __seq__
	pool    chan *conn
}

// Start launches bin as Kong's process manager would and waits until its
// socket accepts connections. The process is killed when t ends; its
// standard error is printed if t failed.
func Start(t testing.TB, bin string) *Server {
	t.Helper()
	return StartWithEnv(t, bin)
}

// StartWithEnv is Start with NAME=value entries added to the environment
// Kong passes the plugin server (e.g. MEDINSIGHTS_AUTH_METRICS_ADDR).
func StartWithEnv(t testing.TB, bin string, env ...string) *Server {
	t.Helper()
	// A short directory: a Unix socket path must fit in 107 bytes.
	prefix, err := os.MkdirTemp("/tmp", "kt")
	if err != nil {
		t.Fatalf("make prefix dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(prefix) })
	info, err := Dump(bin, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Plugins) != 1 || info.Protocol != "ProtoBuf:1" {
		t.Fatalf("-dump: protocol %q with %d plugins, want ProtoBuf:1 with 1", info.Protocol, len(info.Plugins))
	}
	if want := filepath.Join(prefix, info.Plugins[0].Name+".socket"); info.SocketPath != want {
		t.Fatalf("-dump: socket %q, want %q (Kong connects there)", info.SocketPath, want)
	}
	fields, err := info.Plugins[0].ConfigFields()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Name:   info.Plugins[0].Name,
		Prefix: prefix,
		Socket: filepath.Join(prefix, info.Plugins[0].Name+".socket"),
		Info:   info.Plugins[0],
		bin:    bin,
		env:    env,
		fields: fields,
		pool:   make(chan *conn, 256),
	}
	s.instSeq.Store(100)
	s.seq.Store(1)
	if err := s.spawn(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", s.Name, s.Output())
		}
	})
	return s
}

func (s *Server) spawn() error {
	s.output = new(testlog.Buffer)
	s.cmd = exec.Command(s.bin, "-kong-prefix", s.Prefix)
	s.cmd.Env = append(os.Environ(), s.env...)
	s.cmd.Stdout = s.output
	s.cmd.Stderr = s.output
	s.exited = make(chan struct{})
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	go func(cmd *exec.Cmd, done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd, s.exited)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", s.Socket)
		if err == nil {
			s.put(newConn(c))
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited before listening: %s", s.Name, s.output.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within 10 s: %w", s.Name, s.Socket, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the process (SIGKILL, as a crash) and drops pooled connections.
func (s *Server) Kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.exited
	for {
		select {
		case c := <-s.pool:
			c.Close()
		default:
			return
		}
	}
}

// Restart kills the process and starts it again, as Kong's supervisor does
// after a crash. Instances are lost; Kong would start them again.
func (s *Server) Restart() error {
	s.Kill()
	return s.spawn()
}

// Output returns what the process wrote to stdout and stderr so far.
func (s *Server) Output() string { return s.output.String() }

// WaitOutput waits until the process has written substr n times in all
// (n counts from the start of the current process, so a test reads the
// count before the action it waits on), and fails t after 10 s: the plugin
// logs what a test needs to wait for ("jwks key set loaded", ...), so tests
// wait on that signal rather than sleep and retry.
func (s *Server) WaitOutput(t testing.TB, substr string, n int) {
	t.Helper()
	if !s.output.WaitFor(substr, n, 10*time.Second) {
		t.Fatalf("%s did not log %q %d times within 10 s; it logged:\n%s", s.Name, substr, n, s.Output())
	}
}

// OutputCount returns how many times the current process has written substr.
func (s *Server) OutputCount(substr string) int { return strings.Count(s.Output(), substr) }

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Instance is a plugin instance started on a Server.
type Instance struct {
	Server   *Server
	ID       int32
	PluginID string
	Config   []byte // the JSON sent
}

// StartInstance starts an instance with cfg, shaped as Kong sends it for a
// plugin scoped to a route: every schema field cfg leaves out is null, plus
// route_id, __plugin_id, __ws_id, __key__ and a fresh __seq__, which go-pdk
// uses as the instance id. A cfg key the schema does not know is an error,
// as Kong would refuse it.
func (s *Server) StartInstance(cfg map[string]any) (*Instance, error) {
	full := make(map[string]any, len(s.fields)+4)
	for name := range s.fields {
		full[name] = nil
	}
	for k, v := range cfg {
		if _, ok := s.fields[k]; !ok {
			return nil, fmt.Errorf("config key %q is not in the -dump schema", k)
		}
		full[k] = v
	}
	seq := s.instSeq.Add(1)
	pluginID := newUUID()
	ws := "f8ef4d7b-8a5c-4f4e-9d3b-000000000001"
	route := newUUID()
	full["route_id"] = route
	full["__plugin_id"] = pluginID
	full["__ws_id"] = ws
	full["__key__"] = "plugins:" + s.Name + ":" + route + ":::" + ws
	full["__seq__"] = seq
	data, err := json.Marshal(full)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	ret, err := s.control(&pb.RpcCall{Call: &pb.RpcCall_CmdStartInstance{
		CmdStartInstance: &pb.CmdStartInstance{Name: s.Name, Config: data},
	}})
	if err != nil {
		return nil, fmt.Errorf("start instance: %w", err)
	}
	st := ret.GetInstanceStatus()
	if st == nil || st.InstanceId != seq || st.Name != s.Name {
		return nil, fmt.Errorf("start instance: unexpected status %v, want id %d", st, seq)
	}
	return &Instance{Server: s, ID: seq, PluginID: pluginID, Config: data}, nil
}

// MustStartInstance is StartInstance failing t on error.
func (s *Server) MustStartInstance(t testing.TB, cfg map[string]any) *Instance {
	t.Helper()
	i, err := s.StartInstance(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// Close closes the instance as Kong does when its configuration changes.
func (i *Instance) Close() error {
	ret, err := i.Server.control(&pb.RpcCall{Call: &pb.RpcCall_CmdCloseInstance{
		CmdCloseInstance: &pb.CmdCloseInstance{InstanceId: i.ID},
	}})
	if err != nil {
		return fmt.Errorf("close instance %d: %w", i.ID, err)
	}
	if st := ret.GetInstanceStatus(); st == nil || st.InstanceId != i.ID {
		return fmt.Errorf("close instance %d: unexpected status %v", i.ID, st)
	}
	return nil
}

// control sends a call without callbacks and reads its RpcReturn.
func (s *Server) control(call *pb.RpcCall) (*pb.RpcReturn, error) {
	c, err := s.get()
	if err != nil {
		return nil, err
	}
	call.Sequence = s.seq.Add(1)
	ret, err := c.roundTrip(call)
	if err != nil {
		c.Close()
		return nil, err
	}
	s.put(c)
	return ret, nil
}

// ErrClosed means the plugin server closed the connection during a call:
// what Kong reads as "closed" or "no plugin instance", resets its instances
// for and retries.
var ErrClosed = errors.New("plugin server closed the connection")

// Access runs the access phase of req on the instance and returns what
// Kong would have done with the request.
func (i *Instance) Access(req Request) (*Result, error) {
	s := i.Server
	c, err := s.get()
	if err != nil {
		return nil, err
	}
	seq := s.seq.Add(1)
	call := &pb.RpcCall{Sequence: seq, Call: &pb.RpcCall_CmdHandleEvent{
		CmdHandleEvent: &pb.CmdHandleEvent{InstanceId: i.ID, EventName: "access"},
	}}
	data, err := proto.Marshal(call)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("encode event: %w", err)
	}
	if err := c.write(data); err != nil {
		c.Close()
		return nil, fmt.Errorf("send event: %w", err)
	}
	sim := newSimulation(req)
	for {
		method, err := c.read()
		if err != nil {
			c.Close()
			return sim.result, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		if len(method) == 0 { // end of event
			break
		}
		arg, err := c.read()
		if err != nil {
			c.Close()
			return sim.result, fmt.Errorf("%w: reading the argument of %s: %w", ErrClosed, method, err)
		}
		reply, exit, err := sim.call(string(method), arg)
		if err != nil {
			c.Close()
			return sim.result, err
		}
		if exit {
			// Kong never answers kong.response.exit: the plugin coroutine is
			// abandoned and the connection closed with the request.
			c.Close()
			return sim.result, nil
		}
		if err := c.write(reply); err != nil {
			c.Close()
			return sim.result, fmt.Errorf("%w: answering %s: %w", ErrClosed, method, err)
		}
	}
	retData, err := c.read()
	if err != nil {
		c.Close()
		return sim.result, fmt.Errorf("%w: reading the event's RpcReturn: %w", ErrClosed, err)
	}
	var ret pb.RpcReturn
	if err := proto.Unmarshal(retData, &ret); err != nil {
		c.Close()
		return sim.result, fmt.Errorf("decode the event's RpcReturn: %w", err)
	}
	if ret.Sequence != seq {
		c.Close()
		return sim.result, fmt.Errorf("event return: sequence %d, want %d", ret.Sequence, seq)
	}
	s.put(c)
	return sim.result, nil
}

// MustAccess is Access failing t on error.
func (i *Instance) MustAccess(t testing.TB, req Request) *Result {
	t.Helper()
	r, err := i.Access(req)
	if err != nil {
		t.Fatalf("access: %v", err)
	}
	return r
}

func (s *Server) get() (*conn, error) {
	select {
	case c := <-s.pool:
		return c, nil
	default:
	}
	nc, err := net.Dial("unix", s.Socket)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.Socket, err)
	}
	return newConn(nc), nil
}

// put returns a connection to the pool, as Kong's setkeepalive does after
// a complete call.
func (s *Server) put(c *conn) {
	select {
	case s.pool <- c:
	default:
		c.Close()
	}
}

// conn is one connection with frame I/O: a little-endian uint32 length,
// then that many bytes.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
	w  *bufio.Writer
}

func newConn(nc net.Conn) *conn {
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 16<<10), w: bufio.NewWriterSize(nc, 16<<10)}
}

func (c *conn) Close() { _ = c.nc.Close() }

// frameLimit bounds a frame read from the plugin.
const frameLimit = 16 << 20

func (c *conn) write(data []byte) error {
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(data)))
	_, _ = c.w.Write(hdr[:])
	_, _ = c.w.Write(data)
	return c.w.Flush()
}

func (c *conn) read() ([]byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > frameLimit {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(c.r, data); err != nil {
		return nil, err
	}
	return data, nil
}

func (c *conn) roundTrip(call *pb.RpcCall) (*pb.RpcReturn, error) {
	data, err := proto.Marshal(call)
	if err != nil {
		return nil, fmt.Errorf("encode call: %w", err)
	}
	if err := c.write(data); err != nil {
		return nil, fmt.Errorf("send call: %w", err)
	}
	reply, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	var ret pb.RpcReturn
	if err := proto.Unmarshal(reply, &ret); err != nil {
		return nil, fmt.Errorf("decode return: %w", err)
	}
	if ret.Sequence != call.Sequence {
		return nil, fmt.Errorf("return sequence %d, want %d", ret.Sequence, call.Sequence)
	}
	return &ret, nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-")
}
