package kongtest

import (
	"fmt"
	"net/url"
	"strings"

	pb "github.com/Kong/go-pdk/server/kong_plugin_protocol"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// Header is one request header line, its name as the client spelled it.
type Header struct{ Name, Value string }

// Request is the client request Kong received.
type Request struct {
	Method   string // GET when empty
	Path     string // "/" when empty
	RawQuery string
	Headers  []Header // in the order sent; a name may repeat
}

// Headers builds a header list from name, value pairs.
func Headers(pairs ...string) []Header {
	if len(pairs)%2 != 0 {
		panic("kongtest.Headers: odd number of arguments")
	}
	out := make([]Header, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, Header{pairs[i], pairs[i+1]})
	}
	return out
}

// Result is what Kong did with a request during the access phase.
type Result struct {
	// Exited: the plugin answered the client itself (kong.response.exit).
	Exited  bool
	Status  int
	Body    []byte
	Headers map[string][]string // response headers, names lower-cased

	// Upstream is the request header list the upstream would receive.
	Upstream []Header
	// UpstreamQuery is the query string the upstream would receive.
	UpstreamQuery string

	// Calls lists the PDK methods the plugin called, in order.
	Calls []string
	Logs  []string
}

// PDKCalls is the number of PDK round trips, kong.response.exit included.
func (r *Result) PDKCalls() int { return len(r.Calls) }

// UpstreamValues returns the values of the upstream headers named name,
// compared case-insensitively (nginx's rule); underscores are not read as
// dashes here.
func (r *Result) UpstreamValues(name string) []string {
	var out []string
	for _, h := range r.Upstream {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

// UpstreamLike returns the upstream headers whose name, lower-cased with
// '_' read as '-', equals name: every spelling an upstream might take for it.
func (r *Result) UpstreamLike(name string) []Header {
	var out []Header
	want := normalize(name)
	for _, h := range r.Upstream {
		if normalize(h.Name) == want {
			out = append(out, h)
		}
	}
	return out
}

func normalize(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "_", "-")
}

// simulation answers PDK calls for one request.
type simulation struct {
	req    Request
	result *Result
}

func newSimulation(req Request) *simulation {
	if req.Method == "" {
		req.Method = "GET"
	}
	if req.Path == "" {
		req.Path = "/"
	}
	up := make([]Header, len(req.Headers))
	copy(up, req.Headers)
	return &simulation{req: req, result: &Result{Upstream: up, UpstreamQuery: req.RawQuery}}
}

// call serves one PDK method. exit reports kong.response.exit, which gets no
// reply. An unknown method is an error: the test must fail loudly rather
// than pass on a PDK call real Kong would refuse.
func (s *simulation) call(method string, arg []byte) (reply []byte, exit bool, err error) {
	r := s.result
	r.Calls = append(r.Calls, method)
	var out proto.Message
	switch method {
	case "kong.request.get_headers":
		var a pb.Int
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		if a.V < 1 || a.V > 1000 {
			return nil, false, fmt.Errorf("%s: max_headers %d outside 1..1000 (Kong raises an error)", method, a.V)
		}
		st, err := s.headerStruct(int(a.V))
		if err != nil {
			return nil, false, err
		}
		out = st
	case "kong.request.get_header":
		var a pb.String
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		for _, h := range s.req.Headers {
			if normalize(h.Name) == normalize(a.V) {
				out = &pb.String{V: h.Value}
				break
			}
		}
	case "kong.request.get_method":
		out = &pb.String{V: s.req.Method}
	case "kong.request.get_path":
		out = &pb.String{V: s.req.Path}
	case "kong.request.get_raw_query":
		out = &pb.String{V: s.req.RawQuery}
	case "kong.request.get_query_arg":
		var a pb.String
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		q, _ := url.ParseQuery(s.req.RawQuery)
		if v, ok := q[a.V]; ok {
			out = &pb.String{V: v[0]}
		}
	case "kong.nginx.get_var":
		var a pb.String
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		v, err := s.nginxVar(a.V)
		if err != nil {
			return nil, false, err
		}
		out = v
	case "kong.service.request.set_headers":
		var a structpb.Struct
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		for name, v := range a.Fields {
			vals, err := headerValues(v)
			if err != nil {
				return nil, false, fmt.Errorf("%s: header %s: %w", method, name, err)
			}
			s.setUpstream(name, vals)
		}
	case "kong.service.request.set_header", "kong.service.request.add_header":
		var a pb.KV
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		v, ok := a.V.GetKind().(*structpb.Value_StringValue)
		if !ok {
			return nil, false, fmt.Errorf("%s: value of %s is not a string", method, a.K)
		}
		val := v.StringValue
		if val == "" {
			val = " " // Kong sends an empty value as a single space
		}
		if method == "kong.service.request.set_header" {
			s.setUpstream(a.K, []string{val})
		} else {
			r.Upstream = append(r.Upstream, Header{a.K, val})
		}
	case "kong.service.request.clear_header":
		var a pb.String
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		s.setUpstream(a.V, nil)
	case "kong.service.request.set_raw_query":
		var a pb.String
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		r.UpstreamQuery = a.V
	case "kong.log.alert", "kong.log.crit", "kong.log.err", "kong.log.warn",
		"kong.log.notice", "kong.log.info", "kong.log.debug":
		var a structpb.ListValue
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		parts := make([]string, 0, len(a.Values))
		for _, v := range a.Values {
			parts = append(parts, fmt.Sprint(v.AsInterface()))
		}
		r.Logs = append(r.Logs, strings.TrimPrefix(method, "kong.log.")+": "+strings.Join(parts, " "))
	case "kong.response.exit":
		var a pb.ExitArgs
		if err := proto.Unmarshal(arg, &a); err != nil {
			return nil, false, fmt.Errorf("%s: decode argument: %w", method, err)
		}
		r.Exited, r.Status, r.Body = true, int(a.Status), a.Body
		r.Headers = map[string][]string{}
		for name, v := range a.Headers.GetFields() {
			vals, err := headerValues(v)
			if err != nil {
				return nil, false, fmt.Errorf("%s: header %s: %w", method, name, err)
			}
			r.Headers[strings.ToLower(name)] = vals
		}
		return nil, true, nil
	default:
		return nil, false, fmt.Errorf("unknown PDK method %q: the harness does not serve it; real Kong may not either", method)
	}
	if out == nil {
		return nil, false, nil // nil result: a zero-length frame
	}
	data, err := proto.Marshal(out)
	if err != nil {
		return nil, false, fmt.Errorf("%s: encode reply: %w", method, err)
	}
	return data, false, nil
}

// headerStruct is ngx.req.get_headers(max) as Kong returns it: names
// lower-cased as sent (underscores kept), a string for one value and a list
// for several, and only the first max header lines.
func (s *simulation) headerStruct(max int) (*structpb.Struct, error) {
	m := map[string][]any{}
	for i, h := range s.req.Headers {
		if i >= max {
			break
		}
		k := strings.ToLower(h.Name)
		m[k] = append(m[k], h.Value)
	}
	fields := make(map[string]*structpb.Value, len(m))
	for k, vs := range m {
		var v *structpb.Value
		var err error
		if len(vs) == 1 {
			v, err = structpb.NewValue(vs[0])
		} else {
			v, err = structpb.NewValue(vs)
		}
		if err != nil {
			return nil, fmt.Errorf("encode header %s: %w", k, err)
		}
		fields[k] = v
	}
	return &structpb.Struct{Fields: fields}, nil
}

// nginxVar serves the ngx.var variables a plugin may read: cookie_<name>
// and http_<name>.
func (s *simulation) nginxVar(name string) (*pb.String, error) {
	switch {
	case strings.HasPrefix(name, "cookie_"):
		want := strings.TrimPrefix(name, "cookie_")
		for _, h := range s.req.Headers {
			if !strings.EqualFold(h.Name, "cookie") {
				continue
			}
			for part := range strings.SplitSeq(h.Value, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
				if k == want {
					return &pb.String{V: v}, nil
				}
			}
		}
		return nil, nil
	case strings.HasPrefix(name, "http_"):
		want := normalize(strings.TrimPrefix(name, "http_"))
		for _, h := range s.req.Headers {
			if normalize(h.Name) == want {
				return &pb.String{V: h.Value}, nil
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("kong.nginx.get_var: variable %q is not simulated", name)
}

// setUpstream replaces every upstream header named name (case-insensitive,
// as nginx matches) with vals; nil vals clears it.
func (s *simulation) setUpstream(name string, vals []string) {
	kept := s.result.Upstream[:0]
	for _, h := range s.result.Upstream {
		if !strings.EqualFold(h.Name, name) {
			kept = append(kept, h)
		}
	}
	for _, v := range vals {
		kept = append(kept, Header{name, v})
	}
	s.result.Upstream = kept
}

func headerValues(v *structpb.Value) ([]string, error) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return []string{k.StringValue}, nil
	case *structpb.Value_ListValue:
		out := make([]string, 0, len(k.ListValue.Values))
		for _, e := range k.ListValue.Values {
			s, ok := e.GetKind().(*structpb.Value_StringValue)
			if !ok {
				return nil, fmt.Errorf("list element %v is not a string", e)
			}
			out = append(out, s.StringValue)
		}
		return out, nil
	}
	return nil, fmt.Errorf("value %v is neither a string nor a list", v)
}
