package api_test

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"imgward/catalog"
)

// route is a pattern registered in the api package's source.
type route struct {
	method, path string // path in OpenAPI form: {id}, not {id...}
	public       bool   // registered on the mux directly, so without a token
}

// registeredRoutes parses the api package's source and returns every route
// pattern that it registers: s.handle(pattern, …) needs a token,
// s.mux.Handle(pattern, …) and s.mux.HandleFunc(pattern, …) do not.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var routes []route
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if fn, ok := n.(*ast.FuncDecl); ok && fn.Recv != nil && (fn.Name.Name == "handle" || fn.Name.Name == "handleSelf") {
				// The wrappers that register each authenticated route on
				// the mux: their calls are what this test collects.
				return false
			}
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			var public bool
			switch sel.Sel.Name {
			case "handle", "handleSelf":
				if id, ok := sel.X.(*ast.Ident); !ok || id.Name != "s" {
					return true
				}
			case "Handle", "HandleFunc":
				inner, ok := sel.X.(*ast.SelectorExpr)
				if !ok || inner.Sel.Name != "mux" {
					return true
				}
				public = true
			default:
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				// A computed pattern would escape this test.
				t.Errorf("%s: a route pattern that is not a string literal", fset.Position(call.Pos()))
				return true
			}
			pattern, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			method, path, ok := strings.Cut(pattern, " ")
			if !ok {
				t.Errorf("%s: pattern %q has no method", fset.Position(call.Pos()), pattern)
				return true
			}
			routes = append(routes, route{method: strings.ToLower(method), path: openAPIPath(path), public: public})
			return true
		})
	}
	if len(routes) == 0 {
		t.Fatal("no routes found in the api package's source")
	}
	return routes
}

// openAPIPath converts a ServeMux path to an OpenAPI path: {name...} is
// {name}, and {$} (the exact-match marker) disappears.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	return regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

type openAPIOp struct {
	Parameters []struct {
		Name, In string
		Required bool
	}
	RequestBody *struct {
		Content map[string]json.RawMessage
	}
	Responses map[string]struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema json.RawMessage
		}
	}
	Security *[]map[string][]string
}

type openAPIDoc struct {
	OpenAPI      string
	Info         struct{ Title, Version string }
	ExternalDocs struct{ URL string }
	Security     []map[string][]string
	Paths        map[string]map[string]openAPIOp
	Components   struct {
		SecuritySchemes map[string]struct{ Type, In, Name, Scheme string }
		Schemas         map[string]json.RawMessage
		Responses       map[string]json.RawMessage
	}
}

func loadOpenAPI(t *testing.T) ([]byte, *openAPIDoc) {
	t.Helper()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	if dec.More() {
		t.Fatal("openapi.json: trailing data")
	}
	return data, &doc
}

func TestOpenAPIDocument(t *testing.T) {
	data, doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if doc.Info.Title == "" || doc.Info.Version == "" {
		t.Error("info needs a title and a version")
	}
	if !strings.Contains(doc.ExternalDocs.URL, "docs.openstack.org/api-ref/image/v2") {
		t.Errorf("externalDocs = %q, want a link to the OpenStack Image API v2 for /v2", doc.ExternalDocs.URL)
	}
	ss := doc.Components.SecuritySchemes
	if s := ss["authToken"]; s.Type != "apiKey" || s.In != "header" || s.Name != "X-Auth-Token" {
		t.Errorf("securitySchemes.authToken = %+v, want an apiKey in the X-Auth-Token header", s)
	}
	if s := ss["bearer"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearer = %+v, want http bearer", s)
	}
	if len(doc.Security) == 0 {
		t.Error("no top-level security requirement")
	}
	for _, req := range doc.Security {
		for name := range req {
			if _, ok := ss[name]; !ok {
				t.Errorf("security names the undefined scheme %q", name)
			}
		}
	}

	// Every reference resolves.
	for _, m := range regexp.MustCompile(`"\$ref":\s*"([^"]*)"`).FindAllSubmatch(data, -1) {
		ref := string(m[1])
		var ok bool
		if name, found := strings.CutPrefix(ref, "#/components/schemas/"); found {
			_, ok = doc.Components.Schemas[name]
		} else if name, found := strings.CutPrefix(ref, "#/components/responses/"); found {
			_, ok = doc.Components.Responses[name]
		}
		if !ok {
			t.Errorf("unresolved $ref %q", ref)
		}
	}
	var errSchema struct {
		Properties struct {
			Error struct {
				Properties map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(doc.Components.Schemas["Error"], &errSchema); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"code", "title", "message"} {
		if _, ok := errSchema.Properties.Error.Properties[f]; !ok {
			t.Errorf("the Error schema lacks error.%s", f)
		}
	}

	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			name := strings.ToUpper(method) + " " + path
			declared := map[string]bool{}
			for _, p := range op.Parameters {
				if p.In == "path" {
					if !p.Required {
						t.Errorf("%s: path parameter %s must be required", name, p.Name)
					}
					declared[p.Name] = true
				}
			}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", name, m[1])
				}
				delete(declared, m[1])
			}
			for p := range declared {
				t.Errorf("%s: path parameter %s is not in the path", name, p)
			}
			if op.RequestBody != nil {
				want := "application/json"
				if name == "POST /v1/snapshots" {
					want = "application/x-ndjson"
				}
				if _, ok := op.RequestBody.Content[want]; !ok || len(op.RequestBody.Content) != 1 {
					t.Errorf("%s: request body content types %v, want only %s", name, keys(op.RequestBody.Content), want)
				}
			}
			var success bool
			for code, r := range op.Responses {
				if strings.HasPrefix(code, "2") {
					if ct, ok := r.Content["application/json"]; ok && len(ct.Schema) > 0 {
						success = true
					}
					// The audit checkpoint and its key are text in their
					// own formats (C2SP signed note, note verifier key).
					if ct, ok := r.Content["text/plain"]; ok && len(ct.Schema) > 0 && strings.HasPrefix(name, "GET /v1/audit/") {
						success = true
					}
				} else if !strings.HasPrefix(r.Ref, "#/components/responses/") {
					t.Errorf("%s: response %s is not one of the shared error responses", name, code)
				}
			}
			if !success {
				t.Errorf("%s: no 2xx response with a JSON schema", name)
			}
		}
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestOpenAPIMatchesRoutes keeps the document and routes() in step: every
// /v1 route is documented with its method, every documented operation is a
// route, and the routes without a token are exactly those with security [].
func TestOpenAPIMatchesRoutes(t *testing.T) {
	_, doc := loadOpenAPI(t)
	registered := map[string]route{}
	for _, r := range registeredRoutes(t) {
		registered[strings.ToUpper(r.method)+" "+r.path] = r
	}
	for name, r := range registered {
		if !strings.HasPrefix(r.path, "/v1/") {
			continue
		}
		op, ok := doc.Paths[r.path][r.method]
		if !ok {
			t.Errorf("route %s is registered but not in api/openapi.json", name)
			continue
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != r.public {
			t.Errorf("%s: needs a token: %v in routes(), %v in the document (security: [] marks a route without one)", name, !r.public, !public)
		}
		if _, ok := op.Responses["401"]; ok == r.public {
			t.Errorf("%s: a 401 response documented: %v, but the route needs a token: %v", name, ok, !r.public)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			name := strings.ToUpper(method) + " " + path
			if _, ok := registered[name]; !ok {
				t.Errorf("%s is in api/openapi.json but no such route is registered", name)
			}
		}
	}
}

// TestOpenAPIServed fetches the document over HTTP without a token, and
// checks that every documented operation reaches a handler of a real server.
func TestOpenAPIServed(t *testing.T) {
	data, doc := loadOpenAPI(t)
	e := newEnv(t, catalog.Limits{})
	resp := e.raw("GET", "/v1/openapi.json", "", "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /v1/openapi.json without a token: %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if !bytes.Equal(body, data) {
		t.Error("the served document differs from api/openapi.json")
	}

	// Without a token, a documented operation gets an answer from its
	// handler (401, 415, 200…), never the mux's "no route".
	param := regexp.MustCompile(`\{[^}]+\}`)
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			resp := e.raw(m, param.ReplaceAllString(path, "x"), "", "", nil)
			var b struct{ Error struct{ Message string } }
			json.NewDecoder(resp.Body).Decode(&b)
			resp.Body.Close()
			if resp.StatusCode == 405 || strings.HasPrefix(b.Error.Message, "no route for") {
				t.Errorf("%s %s: %d %q: not served", m, path, resp.StatusCode, b.Error.Message)
			}
		}
	}
}
