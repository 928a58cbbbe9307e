package api_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/medinsights/auth/issuer/internal/auth"
)

// apiDoc is the page that documents every route and every problem code.
const apiDoc = "../../../docs/api.md"

// TestRoutesAreDocumented fails when a route wired in routes() (a call
// handle("METHOD", "/path", ...)) has no row in docs/api.md's endpoint table.
func TestRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	doc := readDoc(t)
	var routes []string
	for _, call := range calls(t, "api.go", "routes") {
		if name(call) == "handle" {
			routes = append(routes, stringArg(t, call, 0)+" "+stringArg(t, call, 1))
		}
	}
	if len(routes) < 10 {
		t.Fatalf("found %d routes in api.go's routes(): %v", len(routes), routes)
	}
	for _, r := range routes {
		if !strings.Contains(doc, "\n| `"+r+"` |") {
			t.Errorf("docs/api.md has no endpoint row | `%s` |", r)
		}
	}
}

// TestProblemCodesAreDocumented fails when a problem code the package can
// answer (newProblem(status, "code", ...), unauthorized("code", ...),
// unavailable("code", ...)) is missing from docs/api.md's error table.
func TestProblemCodesAreDocumented(t *testing.T) {
	t.Parallel()
	doc := readDoc(t)
	table := doc[strings.Index(doc, "| status | codes |"):]
	table = table[:strings.Index(table, "\n\n")]
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	codes := map[string]bool{}
	for _, c := range codesFromValues {
		codes[c] = true
	}
	computed := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, call := range calls(t, f, "") {
			i, ok := codeArgument[name(call)]
			if !ok {
				continue
			}
			switch call.Args[i].(type) {
			case *ast.Ident:
				continue // unauthorized and unavailable passing their code on
			case *ast.BasicLit:
				codes[stringArg(t, call, i)] = true
			default:
				computed++
			}
		}
	}
	if computed > len(codesFromValues) {
		t.Fatalf("%d problems take their code from a value, %d codes listed in codesFromValues: list the new one", computed, len(codesFromValues))
	}
	if len(codes) < 10 {
		t.Fatalf("found %d problem codes: %v", len(codes), codes)
	}
	for code := range codes {
		if !strings.Contains(table, "`"+code+"`") {
			t.Errorf("docs/api.md's error table does not list `%s`", code)
		}
	}
}

// codesFromValues are the codes problems take from a domain value rather
// than a literal (newProblem(status, v.Code, ...)).
var codesFromValues = []string{auth.CodePasswordBreached}

// codeArgument is the position of the code among the arguments of each
// function that makes a problem.
var codeArgument = map[string]int{"newProblem": 1, "unauthorized": 0, "unavailable": 0}

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// calls returns the function calls in file, only those inside the function
// named fn when fn is not empty.
func calls(t *testing.T, file, fn string) []*ast.CallExpr {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ast.CallExpr
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && (fn == "" || fd.Name.Name == fn) {
			ast.Inspect(fd, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok {
					out = append(out, c)
				}
				return true
			})
		}
	}
	return out
}

func name(c *ast.CallExpr) string {
	if id, ok := c.Fun.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

func stringArg(t *testing.T, c *ast.CallExpr, i int) string {
	t.Helper()
	lit, ok := c.Args[i].(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		t.Fatalf("argument %d of a call to %s is not a string literal", i, name(c))
	}
	s, err := strconv.Unquote(lit.Value)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
