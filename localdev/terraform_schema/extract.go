// Command extract reads the Google provider's Go source at one git revision and writes
// the configuration schema of its SDKv2 resources and data sources as JSON, in the shape
// of `terraform providers schema -json` (attributes with their cty types and
// required/optional/computed, nested blocks with nesting and item bounds), without
// descriptions.
//
// The provider cannot be built here (its go.mod needs a newer Go than Debian's), so this
// program does not compile it: it parses the source with go/parser and evaluates only what
// builds a schema (composite literals of schema.Resource and schema.Schema, the package
// functions and variables that return them, and the provider's helpers that copy or merge
// them). The lowering to Terraform's schema follows terraform-plugin-sdk/v2
// helper/schema/core_schema.go (schemaMap.CoreConfigSchema, Resource.CoreConfigSchema).
//
// See README.md beside this file for the command and what it cannot see.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

const modulePath = "github.com/hashicorp/terraform-provider-google/"

// ---- values of the evaluated Go code -------------------------------------------------

// valueType is a helper/schema ValueType (schema.TypeString, ...).
type valueType string

// resource is a *schema.Resource: its schema map and the timeouts it declares.
type resource struct {
	Schema      *schemaMap
	Timeouts    map[string]bool // "create", "read", "update", "delete", "default"
	HasTimeouts bool
	Deprecated  string
}

// schemaMap is a map[string]*schema.Schema (Go maps are references: so is this).
type schemaMap struct {
	m map[string]*attr
}

// attr is a *schema.Schema.
type attr struct {
	Type                         valueType
	Required, Optional, Computed bool
	Sensitive, WriteOnly         bool
	HasDefaultFunc               bool
	MinItems, MaxItems           int
	ConfigMode                   string
	Deprecated                   string
	Elem                         any // *attr, valueType, *resource or nil
	// unresolved names a field that shapes the schema but did not evaluate.
	unresolved string
}

// iamSettings is a *tpgiamresource.IamSettings, or one of its options: what the IAM
// resource builders read from it into the schema.
type iamSettings struct {
	CreateTimeOut      int
	DeprecationMessage string
}

// unknown is anything this program does not evaluate; it says where, for the report.
type unknown struct{ why string }

// funcValue is a function declared in a package, or a function literal.
type funcValue struct {
	pkg  *pkg
	decl *ast.FuncType
	body *ast.BlockStmt
	env  *env
}

// ---- the parsed source ----------------------------------------------------------------

type pkg struct {
	dir     string
	funcs   map[string]*ast.FuncDecl
	vars    map[string]ast.Expr
	imports map[*ast.File]map[string]string // file -> alias -> package dir (or "ext:"+path)
	fileOf  map[ast.Node]*ast.File
	cache   map[string]any
}

type program struct {
	fset     *token.FileSet
	pkgs     map[string]*pkg // by directory
	warnings []string
	// registered resources/data sources: name -> expression and its package/file
	resources, dataSources map[string]registration
	framework              map[string]bool
}

type registration struct {
	p    *pkg
	file *ast.File
	expr ast.Expr
}

func gitFiles(repo, rev string) (map[string][]byte, error) {
	list, err := exec.Command("git", "-C", repo, "ls-tree", "-r", "--name-only", rev, "--", "google").Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-tree %s: %w", rev, err)
	}
	var names []string
	for _, n := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		if strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") &&
			!strings.HasPrefix(n, "google/acctest/") && !strings.HasPrefix(n, "google/sweeper/") {
			names = append(names, n)
		}
	}
	cmd := exec.Command("git", "-C", repo, "cat-file", "--batch")
	var input bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&input, "%s:%s\n", rev, n)
	}
	cmd.Stdin = &input
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	reader := bufio.NewReaderSize(out, 1<<20)
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		header, err := reader.ReadString('\n')
		if err != nil {
			return nil, err
		}
		fields := strings.Fields(header)
		if len(fields) != 3 {
			return nil, fmt.Errorf("git cat-file: %q for %s", header, n)
		}
		size, _ := strconv.Atoi(fields[2])
		body := make([]byte, size+1) // the content and its trailing newline
		if _, err := io.ReadFull(reader, body); err != nil {
			return nil, err
		}
		files[n] = body[:size]
	}
	return files, cmd.Wait()
}

func load(repo, rev string) (*program, error) {
	files, err := gitFiles(repo, rev)
	if err != nil {
		return nil, err
	}
	prog := &program{
		pkgs:        map[string]*pkg{},
		resources:   map[string]registration{},
		dataSources: map[string]registration{},
		framework:   map[string]bool{},
	}
	fset := token.NewFileSet()
	prog.fset = fset
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := parser.ParseFile(fset, name, files[name], parser.SkipObjectResolution)
		if err != nil {
			prog.warnings = append(prog.warnings, fmt.Sprintf("parse %s: %v", name, err))
			if f == nil {
				continue
			}
		}
		dir := path.Dir(name)
		p := prog.pkgs[dir]
		if p == nil {
			p = &pkg{dir: dir, funcs: map[string]*ast.FuncDecl{}, vars: map[string]ast.Expr{},
				imports: map[*ast.File]map[string]string{}, fileOf: map[ast.Node]*ast.File{},
				cache: map[string]any{}}
			prog.pkgs[dir] = p
		}
		imports := map[string]string{}
		for _, spec := range f.Imports {
			importPath, _ := strconv.Unquote(spec.Path.Value)
			alias := path.Base(importPath)
			if spec.Name != nil {
				alias = spec.Name.Name
			}
			if strings.HasPrefix(importPath, modulePath) {
				imports[alias] = strings.TrimPrefix(importPath, modulePath)
			} else {
				if strings.HasPrefix(alias, "v") && len(alias) <= 3 { // .../schema/v2 and the like
					alias = path.Base(path.Dir(importPath))
				}
				imports[alias] = "ext:" + importPath
			}
		}
		p.imports[f] = imports
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Body != nil {
					p.funcs[d.Name.Name] = d
					p.fileOf[d] = f
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					if vs, ok := spec.(*ast.ValueSpec); ok {
						for i, n := range vs.Names {
							if i < len(vs.Values) {
								p.vars[n.Name] = vs.Values[i]
								p.fileOf[vs.Values[i]] = f
							}
						}
					}
				}
			}
		}
		prog.findRegistrations(p, f)
		prog.findFrameworkLists(f)
	}
	prog.findProviderMaps()
	return prog, nil
}

// findRegistrations records registry.Schema{Name, Type, Schema} literals (both the init()
// registrations of 8.x and those 7.x's provider maps point to with registry.Resource) and
// the names of plugin-framework resources, which this program does not read.
func (prog *program) findRegistrations(p *pkg, f *ast.File) {
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := lit.Type.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "registry" {
			return true
		}
		fields := map[string]ast.Expr{}
		for _, elt := range lit.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok {
					fields[k.Name] = kv.Value
				}
			}
		}
		nameLit, ok := fields["Name"].(*ast.BasicLit)
		if !ok {
			return true
		}
		name, _ := strconv.Unquote(nameLit.Value)
		switch sel.Sel.Name {
		case "Schema":
			kind := ""
			if t, ok := fields["Type"].(*ast.SelectorExpr); ok {
				kind = t.Sel.Name
			}
			reg := registration{p: p, file: f, expr: fields["Schema"]}
			if strings.Contains(kind, "DataSource") {
				prog.dataSources[name] = reg
			} else {
				prog.resources[name] = reg
			}
		case "FrameworkResource", "FrameworkDataSource":
			prog.framework[sel.Sel.Name+" "+name] = true
		}
		return true
	})
}

// findFrameworkLists records the plugin-framework resources and data sources 7.x lists in
// google/fwprovider (FrameworkProvider.Resources and .DataSources), by constructor.
func (prog *program) findFrameworkLists(f *ast.File) {
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || fn.Body == nil {
			continue
		}
		kind := map[string]string{"Resources": "FrameworkResource", "DataSources": "FrameworkDataSource"}[fn.Name.Name]
		if kind == "" || typeName(fn.Recv.List[0].Type) != "FrameworkProvider" {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			ret, ok := n.(*ast.ReturnStmt)
			if !ok || len(ret.Results) != 1 {
				return true
			}
			if lit, ok := ret.Results[0].(*ast.CompositeLit); ok {
				for _, elt := range lit.Elts {
					if sel, ok := elt.(*ast.SelectorExpr); ok {
						if x, ok := sel.X.(*ast.Ident); ok {
							prog.framework[kind+" "+x.Name+"."+sel.Sel.Name] = true
						}
					}
				}
			}
			return false
		})
	}
}

// findProviderMaps reads 7.x's google/provider maps (ResourceMapWithErrors and
// DatasourceMapWithErrors merge them); an entry overrides a registry.Schema of that name.
func (prog *program) findProviderMaps() {
	p := prog.pkgs["google/provider"]
	if p == nil {
		return
	}
	for funcName, target := range map[string]map[string]registration{
		"ResourceMapWithErrors":   prog.resources,
		"DatasourceMapWithErrors": prog.dataSources,
	} {
		fn := p.funcs[funcName]
		if fn == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "mergeResourceMaps" {
				return true
			}
			for _, arg := range call.Args {
				id, ok := arg.(*ast.Ident)
				if !ok {
					continue
				}
				lit, ok := p.vars[id.Name].(*ast.CompositeLit)
				if !ok {
					continue
				}
				for _, elt := range lit.Elts {
					kv := elt.(*ast.KeyValueExpr)
					key, ok := kv.Key.(*ast.BasicLit)
					if !ok {
						continue
					}
					name, _ := strconv.Unquote(key.Value)
					if call, ok := kv.Value.(*ast.CallExpr); ok {
						// registry.Resource("x") / registry.DataSource("x"): the registration.
						if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
							if x, ok := sel.X.(*ast.Ident); ok && x.Name == "registry" {
								continue
							}
						}
					}
					target[name] = registration{p: p, file: p.fileOf[lit], expr: kv.Value}
				}
			}
			return false
		})
	}
}

// ---- evaluation -----------------------------------------------------------------------

type env struct {
	vars   map[string]any
	parent *env
	p      *pkg
	file   *ast.File
}

func (e *env) lookup(name string) (any, bool) {
	for s := e; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

func (e *env) set(name string, v any) {
	for s := e; s != nil; s = s.parent {
		if _, ok := s.vars[name]; ok {
			s.vars[name] = v
			return
		}
	}
	e.vars[name] = v
}

type evaluator struct {
	prog  *program
	depth int
	// conditional notes the if/switch branches taken without their condition, for the report.
	conditional map[string]bool
}

func (ev *evaluator) pkgVar(p *pkg, name string) (any, bool) {
	if v, ok := p.cache[name]; ok {
		return v, true
	}
	expr, ok := p.vars[name]
	if !ok {
		return nil, false
	}
	p.cache[name] = unknown{"recursive var " + name}
	v := ev.eval(expr, &env{vars: map[string]any{}, p: p, file: p.fileOf[expr]})
	p.cache[name] = v
	return v, true
}

// resolveImport returns the package an identifier names in the current file, if any.
func (ev *evaluator) resolveImport(e *env, alias string) (string, bool) {
	if e.file == nil {
		return "", false
	}
	target, ok := e.p.imports[e.file][alias]
	return target, ok
}

func (ev *evaluator) eval(expr ast.Expr, e *env) any {
	switch x := expr.(type) {
	case nil:
		return nil
	case *ast.ParenExpr:
		return ev.eval(x.X, e)
	case *ast.BasicLit:
		switch x.Kind {
		case token.STRING:
			s, _ := strconv.Unquote(x.Value)
			return s
		case token.INT:
			n, _ := strconv.Atoi(x.Value)
			return n
		}
		return unknown{"literal " + x.Value}
	case *ast.Ident:
		switch x.Name {
		case "true":
			return true
		case "false":
			return false
		case "nil":
			return nil
		}
		if v, ok := e.lookup(x.Name); ok {
			return v
		}
		if v, ok := ev.pkgVar(e.p, x.Name); ok {
			return v
		}
		if fn, ok := e.p.funcs[x.Name]; ok {
			return &funcValue{pkg: e.p, decl: fn.Type, body: fn.Body}
		}
		return unknown{"identifier " + x.Name}
	case *ast.UnaryExpr:
		if x.Op == token.AND {
			return ev.eval(x.X, e)
		}
		if x.Op == token.NOT {
			if b, ok := ev.eval(x.X, e).(bool); ok {
				return !b
			}
		}
		return unknown{"unary " + x.Op.String()}
	case *ast.BinaryExpr:
		return ev.binary(x, e)
	case *ast.SelectorExpr:
		return ev.selector(x, e)
	case *ast.IndexExpr:
		if m, ok := ev.eval(x.X, e).(*schemaMap); ok {
			if k, ok := ev.eval(x.Index, e).(string); ok {
				if a, ok := m.m[k]; ok {
					return a
				}
			}
		}
		return unknown{"index"}
	case *ast.CompositeLit:
		return ev.composite(x, x.Type, e)
	case *ast.CallExpr:
		return ev.call(x, e)
	case *ast.FuncLit:
		return &funcValue{pkg: e.p, decl: x.Type, body: x.Body, env: e}
	case *ast.TypeAssertExpr:
		return ev.eval(x.X, e)
	}
	return unknown{fmt.Sprintf("expression %T", expr)}
}

func (ev *evaluator) binary(x *ast.BinaryExpr, e *env) any {
	l, r := ev.eval(x.X, e), ev.eval(x.Y, e)
	switch x.Op {
	case token.ADD:
		if ls, ok := l.(string); ok {
			if rs, ok := r.(string); ok {
				return ls + rs
			}
		}
		if li, ok := l.(int); ok {
			if ri, ok := r.(int); ok {
				return li + ri
			}
		}
	case token.GTR:
		if li, ok := l.(int); ok {
			if ri, ok := r.(int); ok {
				return li > ri
			}
		}
	case token.MUL:
		if li, ok := l.(int); ok {
			if ri, ok := r.(int); ok {
				return li * ri
			}
		}
	}
	return unknown{"binary " + x.Op.String()}
}

func (ev *evaluator) selector(x *ast.SelectorExpr, e *env) any {
	if id, ok := x.X.(*ast.Ident); ok {
		if _, local := e.lookup(id.Name); !local {
			if target, ok := ev.resolveImport(e, id.Name); ok {
				if strings.HasPrefix(target, "ext:") {
					return external(strings.TrimPrefix(target, "ext:"), x.Sel.Name)
				}
				p := ev.prog.pkgs[target]
				if p == nil {
					return unknown{"package " + target}
				}
				if v, ok := ev.pkgVar(p, x.Sel.Name); ok {
					return v
				}
				if fn, ok := p.funcs[x.Sel.Name]; ok {
					return &funcValue{pkg: p, decl: fn.Type, body: fn.Body}
				}
				return unknown{target + "." + x.Sel.Name}
			}
		}
	}
	switch v := ev.eval(x.X, e).(type) {
	case *resource:
		switch x.Sel.Name {
		case "Schema":
			if v.Schema == nil {
				return unknown{"resource without Schema"}
			}
			return v.Schema
		}
	case *iamSettings:
		switch x.Sel.Name {
		case "CreateTimeOut":
			return v.CreateTimeOut
		case "DeprecationMessage":
			return v.DeprecationMessage
		}
	case *attr:
		switch x.Sel.Name {
		case "Elem":
			return v.Elem
		case "Type":
			return v.Type
		}
	}
	return unknown{"selector ." + x.Sel.Name}
}

// external evaluates the identifiers of other modules that matter to a schema.
func external(importPath, name string) any {
	if importPath == "time" && name == "Minute" {
		return 60 // in seconds: only compared with zero
	}
	if strings.HasSuffix(importPath, "/helper/schema") {
		if strings.HasPrefix(name, "Type") {
			return valueType(name)
		}
		if strings.HasPrefix(name, "SchemaConfigMode") {
			return name
		}
	}
	return unknown{importPath + "." + name}
}

func typeName(t ast.Expr) string {
	switch x := t.(type) {
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			return id.Name + "." + x.Sel.Name
		}
	case *ast.StarExpr:
		return typeName(x.X)
	case *ast.MapType:
		return "map[" + typeName(x.Key) + "]" + typeName(x.Value)
	case *ast.Ident:
		return x.Name
	}
	return fmt.Sprintf("%T", t)
}

func (ev *evaluator) composite(lit *ast.CompositeLit, typ ast.Expr, e *env) any {
	name := typeName(typ)
	switch name {
	case "schema.Resource", "schema.Provider":
		r := &resource{}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			ev.setResourceField(r, kv.Key.(*ast.Ident).Name, kv.Value, e)
		}
		return r
	case "schema.Schema":
		a := &attr{}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			ev.setAttrField(a, kv.Key.(*ast.Ident).Name, ev.eval(kv.Value, e))
		}
		return a
	case "map[string]schema.Schema":
		m := &schemaMap{m: map[string]*attr{}}
		for _, elt := range lit.Elts {
			kv, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := ev.eval(kv.Key, e).(string)
			if !ok {
				return unknown{"schema map key"}
			}
			var v any
			if inner, ok := kv.Value.(*ast.CompositeLit); ok && inner.Type == nil {
				v = ev.composite(inner, &ast.SelectorExpr{X: ast.NewIdent("schema"), Sel: ast.NewIdent("Schema")}, e)
			} else {
				v = ev.eval(kv.Value, e)
			}
			a, ok := v.(*attr)
			if !ok {
				return unknown{fmt.Sprintf("schema map value %q: %v", key, v)}
			}
			m.m[key] = a
		}
		return m
	case "schema.ResourceTimeout":
		t := map[string]bool{}
		for _, elt := range lit.Elts {
			if kv, ok := elt.(*ast.KeyValueExpr); ok {
				t[strings.ToLower(kv.Key.(*ast.Ident).Name)] = true
			}
		}
		return t
	}
	return unknown{"composite " + name}
}

func (ev *evaluator) setResourceField(r *resource, field string, value ast.Expr, e *env) {
	switch field {
	case "Schema":
		v := ev.eval(value, e)
		if m, ok := v.(*schemaMap); ok {
			r.Schema = m
		} else {
			ev.prog.warnings = append(ev.prog.warnings, fmt.Sprintf("Resource.Schema: %v", v))
		}
	case "SchemaFunc":
		if fn, ok := ev.eval(value, e).(*funcValue); ok {
			if m, ok := ev.callFunc(fn, nil).(*schemaMap); ok {
				r.Schema = m
			}
		}
	case "Timeouts":
		if t, ok := ev.eval(value, e).(map[string]bool); ok {
			r.Timeouts, r.HasTimeouts = t, true
		}
	case "DeprecationMessage":
		if s, ok := ev.eval(value, e).(string); ok {
			r.Deprecated = s
		}
	}
}

func (ev *evaluator) setAttrField(a *attr, field string, v any) {
	if u, ok := v.(unknown); ok {
		switch field {
		case "Type", "Required", "Optional", "Computed", "MinItems", "MaxItems", "ConfigMode", "Elem":
			a.unresolved = field + ": " + u.why
			return
		}
	}
	b, _ := v.(bool)
	n, _ := v.(int)
	s, _ := v.(string)
	switch field {
	case "Type":
		a.Type, _ = v.(valueType)
	case "Required":
		a.Required = b
	case "Optional":
		a.Optional = b
	case "Computed":
		a.Computed = b
	case "Sensitive":
		a.Sensitive = b
	case "WriteOnly":
		a.WriteOnly = b
	case "MinItems":
		a.MinItems = n
	case "MaxItems":
		a.MaxItems = n
	case "ConfigMode":
		a.ConfigMode = s
	case "Deprecated":
		a.Deprecated = s
	case "DefaultFunc":
		a.HasDefaultFunc = v != nil
	case "Elem":
		switch v.(type) {
		case *attr, valueType, *resource, nil:
			a.Elem = v
		default:
			a.unresolved = fmt.Sprintf("Elem: %v", v)
		}
	}
}

// datasourceSchemaFromResourceSchema follows tpgresource.DatasourceSchemaFromResourceSchema
// (google/tpgresource/datasource_helpers.go): every field computed, none required or
// optional, no item bounds; nested resources converted the same way.
func datasourceSchemaFromResourceSchema(rs *schemaMap) *schemaMap {
	ds := &schemaMap{m: map[string]*attr{}}
	for k, v := range rs.m {
		dv := &attr{Computed: true, Type: v.Type, Elem: v.Elem}
		if v.Type == "TypeList" || v.Type == "TypeSet" {
			if r, ok := v.Elem.(*resource); ok {
				dv.Elem = &resource{Schema: datasourceSchemaFromResourceSchema(r.Schema)}
			}
		}
		ds.m[k] = dv
	}
	return ds
}

func stringArgs(ev *evaluator, args []ast.Expr, e *env) []string {
	var out []string
	for _, a := range args {
		if s, ok := ev.eval(a, e).(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func (ev *evaluator) call(x *ast.CallExpr, e *env) any {
	// The provider's schema helpers (google/tpgresource), done natively: their Go bodies
	// loop and switch on types, which this evaluator does not.
	if sel, ok := x.Fun.(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok {
			if target, ok := ev.resolveImport(e, id.Name); ok {
				if v, handled := ev.helper(target, sel.Sel.Name, x.Args, e); handled {
					return v
				}
			}
		}
	}
	if id, ok := x.Fun.(*ast.Ident); ok {
		switch id.Name {
		case "make":
			if typeName(x.Args[0]) == "map[string]schema.Schema" {
				return &schemaMap{m: map[string]*attr{}}
			}
		case "delete":
			if m, ok := ev.eval(x.Args[0], e).(*schemaMap); ok {
				if k, ok := ev.eval(x.Args[1], e).(string); ok {
					delete(m.m, k)
				}
			}
			return nil
		}
		if _, local := e.lookup(id.Name); !local {
			if v, handled := ev.helper(e.p.dir, id.Name, x.Args, e); handled {
				return v
			}
		}
	}
	fnv := ev.eval(x.Fun, e)
	fn, ok := fnv.(*funcValue)
	if !ok {
		return unknown{fmt.Sprintf("call of %v", fnv)}
	}
	args := make([]any, len(x.Args))
	for i, a := range x.Args {
		args[i] = ev.eval(a, e)
	}
	return ev.callFunc(fn, args)
}

func (ev *evaluator) helper(target, name string, args []ast.Expr, e *env) (any, bool) {
	switch target {
	case "google/tpgresource":
		switch name {
		case "DatasourceSchemaFromResourceSchema":
			if m, ok := ev.eval(args[0], e).(*schemaMap); ok {
				return datasourceSchemaFromResourceSchema(m), true
			}
			return unknown{"DatasourceSchemaFromResourceSchema of an unknown schema"}, true
		case "MergeSchemas":
			merged := &schemaMap{m: map[string]*attr{}}
			for _, a := range args {
				m, ok := ev.eval(a, e).(*schemaMap)
				if !ok {
					return unknown{"MergeSchemas of an unknown schema"}, true
				}
				for k, v := range m.m {
					merged.m[k] = v
				}
			}
			return merged, true
		case "AddRequiredFieldsToSchema", "AddOptionalFieldsToSchema", "FixDatasourceSchemaFlags":
			m, ok := ev.eval(args[0], e).(*schemaMap)
			if !ok {
				return unknown{name + " of an unknown schema"}, true
			}
			keys := args[1:]
			required := name == "AddRequiredFieldsToSchema"
			if name == "FixDatasourceSchemaFlags" {
				required, _ = ev.eval(args[1], e).(bool)
				keys = args[2:]
			}
			for _, k := range stringArgs(ev, keys, e) {
				if a, ok := m.m[k]; ok {
					a.Computed, a.Optional, a.Required = false, !required, required
				} else {
					ev.prog.warnings = append(ev.prog.warnings, fmt.Sprintf("%s: no field %q", name, k))
				}
			}
			return nil, true
		case "DeleteFieldsFromSchema":
			if m, ok := ev.eval(args[0], e).(*schemaMap); ok {
				for _, k := range stringArgs(ev, args[1:], e) {
					delete(m.m, k)
				}
			}
			return nil, true
		}
	case "google/tpgiamresource":
		// NewIamSettings applies option closures; these are the options the schema reads.
		switch name {
		case "IamCreateTimeOut":
			n, _ := ev.eval(args[0], e).(int)
			return &iamSettings{CreateTimeOut: n}, true
		case "IamWithDeprecationMessage":
			message, _ := ev.eval(args[0], e).(string)
			return &iamSettings{DeprecationMessage: message}, true
		case "NewIamSettings":
			settings := &iamSettings{}
			if len(args) == 1 {
				options, _ := ev.eval(args[0], e).([]any)
				for _, o := range options {
					if opt, ok := o.(*iamSettings); ok {
						if opt.CreateTimeOut != 0 {
							settings.CreateTimeOut = opt.CreateTimeOut
						}
						if opt.DeprecationMessage != "" {
							settings.DeprecationMessage = opt.DeprecationMessage
						}
					}
				}
			}
			return settings, true
		}
	case "ext:time":
		if name == "Duration" {
			return ev.eval(args[0], e), true
		}
	case "ext:maps":
		if name == "Copy" {
			dst, ok1 := ev.eval(args[0], e).(*schemaMap)
			src, ok2 := ev.eval(args[1], e).(*schemaMap)
			if ok1 && ok2 {
				for k, v := range src.m {
					dst.m[k] = v
				}
			}
			return nil, true
		}
	}
	return nil, false
}

func (ev *evaluator) callFunc(fn *funcValue, args []any) any {
	if ev.depth > 40 {
		return unknown{"call depth"}
	}
	ev.depth++
	defer func() { ev.depth-- }()
	parent := fn.env
	var file *ast.File
	if parent != nil {
		file = parent.file
	} else {
		for decl, f := range fn.pkg.fileOf {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Body == fn.body {
				file = f
				break
			}
		}
	}
	local := &env{vars: map[string]any{}, parent: parent, p: fn.pkg, file: file}
	i := 0
	for _, field := range fn.decl.Params.List {
		_, variadic := field.Type.(*ast.Ellipsis)
		for _, n := range field.Names {
			switch {
			case variadic && i <= len(args):
				local.vars[n.Name] = args[i:]
			case i < len(args):
				local.vars[n.Name] = args[i]
			default:
				local.vars[n.Name] = nil
			}
			i++
		}
	}
	v, _ := ev.exec(fn.body.List, local)
	return v
}

// exec runs statements; it returns the value of a return statement, if one ran.
func (ev *evaluator) exec(stmts []ast.Stmt, e *env) (any, bool) {
	for _, s := range stmts {
		switch st := s.(type) {
		case *ast.ReturnStmt:
			if len(st.Results) == 0 {
				return nil, true
			}
			return ev.eval(st.Results[0], e), true
		case *ast.AssignStmt:
			for i, lhs := range st.Lhs {
				if len(st.Rhs) != len(st.Lhs) {
					break
				}
				ev.assign(lhs, ev.eval(st.Rhs[i], e), e, st.Tok == token.DEFINE)
			}
		case *ast.DeclStmt:
			if gd, ok := st.Decl.(*ast.GenDecl); ok {
				for _, spec := range gd.Specs {
					if vs, ok := spec.(*ast.ValueSpec); ok {
						for i, n := range vs.Names {
							var v any
							if i < len(vs.Values) {
								v = ev.eval(vs.Values[i], e)
							}
							e.vars[n.Name] = v
						}
					}
				}
			}
		case *ast.ExprStmt:
			ev.eval(st.X, e)
		case *ast.BlockStmt:
			if v, ok := ev.exec(st.List, &env{vars: map[string]any{}, parent: e, p: e.p, file: e.file}); ok {
				return v, true
			}
		case *ast.IfStmt:
			// A condition this program cannot evaluate (it depends on run-time settings):
			// the then-branch runs, so a field added under it is kept (the schema may be
			// wider than the provider's, never narrower). The output lists where.
			inner := &env{vars: map[string]any{}, parent: e, p: e.p, file: e.file}
			if st.Init != nil {
				ev.exec([]ast.Stmt{st.Init}, inner)
			}
			if cond, ok := ev.eval(st.Cond, inner).(bool); ok {
				if cond {
					if v, ok := ev.exec(st.Body.List, inner); ok {
						return v, true
					}
				} else if st.Else != nil {
					if v, ok := ev.exec([]ast.Stmt{st.Else}, inner); ok {
						return v, true
					}
				}
				continue
			}
			ev.conditional[ev.prog.fset.Position(st.Pos()).String()] = true
			// A return in such a branch is not taken: the function's last return builds
			// the schema of the common path.
			ev.exec(st.Body.List, inner)
		case *ast.RangeStmt:
			m, ok := ev.eval(st.X, e).(*schemaMap)
			if !ok {
				continue
			}
			keys := make([]string, 0, len(m.m))
			for k := range m.m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				inner := &env{vars: map[string]any{}, parent: e, p: e.p, file: e.file}
				if id, ok := st.Key.(*ast.Ident); ok {
					inner.vars[id.Name] = k
				}
				if id, ok := st.Value.(*ast.Ident); ok && st.Value != nil {
					inner.vars[id.Name] = m.m[k]
				}
				ev.exec(st.Body.List, inner)
			}
		}
	}
	return nil, false
}

func (ev *evaluator) assign(lhs ast.Expr, v any, e *env, define bool) {
	switch l := lhs.(type) {
	case *ast.Ident:
		if l.Name == "_" {
			return
		}
		if define {
			e.vars[l.Name] = v
		} else {
			e.set(l.Name, v)
		}
	case *ast.IndexExpr:
		if m, ok := ev.eval(l.X, e).(*schemaMap); ok {
			if k, ok := ev.eval(l.Index, e).(string); ok {
				if a, ok := v.(*attr); ok {
					m.m[k] = a
				}
			}
		}
	case *ast.SelectorExpr:
		switch target := ev.eval(l.X, e).(type) {
		case *attr:
			ev.setAttrField(target, l.Sel.Name, v)
		case *resource:
			switch l.Sel.Name {
			case "Schema":
				if m, ok := v.(*schemaMap); ok {
					target.Schema = m
				}
			case "Timeouts":
				if t, ok := v.(map[string]bool); ok {
					target.Timeouts, target.HasTimeouts = t, true
				}
			}
		}
	}
}

// ---- lowering to Terraform's schema (terraform-plugin-sdk core_schema.go) -------------

type problems struct{ list []string }

func newProblems() *problems { return &problems{list: []string{}} }

func (p *problems) add(where, what string) { p.list = append(p.list, where+": "+what) }

func ctyType(a *attr, where string, probs *problems) any {
	switch a.Type {
	case "TypeString":
		return "string"
	case "TypeBool":
		return "bool"
	case "TypeInt", "TypeFloat":
		return "number"
	case "TypeList", "TypeSet", "TypeMap":
		var elem any
		switch el := a.Elem.(type) {
		case *attr:
			elem = ctyType(el, where, probs)
		case valueType:
			elem = ctyType(&attr{Type: el}, where, probs)
		case *resource:
			if a.Type == "TypeMap" {
				elem = "string"
			} else {
				elem = objectType(el, where, probs)
			}
		case nil:
			elem = "string"
		default:
			probs.add(where, fmt.Sprintf("element %v", el))
			elem = "dynamic"
		}
		kind := map[valueType]string{"TypeList": "list", "TypeSet": "set", "TypeMap": "map"}[a.Type]
		return []any{kind, elem}
	}
	probs.add(where, fmt.Sprintf("type %q", a.Type))
	return "dynamic"
}

// objectType is configschema.Block.ImpliedType: attributes and nested blocks as one object.
func objectType(r *resource, where string, probs *problems) any {
	block := lowerBlock(r, where, probs)
	fields := map[string]any{}
	for name, a := range block.Attributes {
		fields[name] = a.Type
	}
	for name, b := range block.BlockTypes {
		inner := objectType(b.source, where+"."+name, probs)
		switch b.Nesting {
		case "single":
			fields[name] = inner
		default:
			fields[name] = []any{b.Nesting, inner}
		}
	}
	return []any{"object", fields}
}

type attribute struct {
	Type       any  `json:"type"`
	Required   bool `json:"required,omitempty"`
	Optional   bool `json:"optional,omitempty"`
	Computed   bool `json:"computed,omitempty"`
	Sensitive  bool `json:"sensitive,omitempty"`
	Deprecated bool `json:"deprecated,omitempty"`
	WriteOnly  bool `json:"write_only,omitempty"`
}

type nestedBlock struct {
	Nesting  string    `json:"nesting_mode"`
	Block    *block    `json:"block"`
	MinItems int       `json:"min_items,omitempty"`
	MaxItems int       `json:"max_items,omitempty"`
	source   *resource `json:"-"`
}

type block struct {
	Attributes map[string]*attribute   `json:"attributes,omitempty"`
	BlockTypes map[string]*nestedBlock `json:"block_types,omitempty"`
	Deprecated bool                    `json:"deprecated,omitempty"`
}

func lowerBlock(r *resource, where string, probs *problems) *block {
	b := &block{Attributes: map[string]*attribute{}, BlockTypes: map[string]*nestedBlock{}}
	if r.Schema == nil {
		probs.add(where, "no schema")
		return b
	}
	for name, a := range r.Schema.m {
		here := where + "." + name
		if a.unresolved != "" {
			probs.add(here, a.unresolved)
			continue
		}
		res, isResource := a.Elem.(*resource)
		asBlock := false
		if isResource && a.Type != "TypeMap" {
			switch a.ConfigMode {
			case "SchemaConfigModeAttr":
			case "SchemaConfigModeBlock":
				asBlock = true
			default:
				asBlock = !(a.Computed && !a.Optional)
			}
		}
		if !asBlock {
			required, optional := a.Required, a.Optional
			if required && a.HasDefaultFunc {
				// core_schema.go turns Required off when a DefaultFunc may give a value
				// (it calls it; this program cannot, so it assumes a value).
				required, optional = false, true
			}
			b.Attributes[name] = &attribute{
				Type: ctyType(a, here, probs), Required: required, Optional: optional,
				Computed: a.Computed, Sensitive: a.Sensitive, Deprecated: a.Deprecated != "",
				WriteOnly: a.WriteOnly,
			}
			continue
		}
		nb := &nestedBlock{Block: lowerBlock(res, here, probs), source: res,
			MinItems: a.MinItems, MaxItems: a.MaxItems}
		nb.Block.Deprecated = a.Deprecated != ""
		switch a.Type {
		case "TypeList":
			nb.Nesting = "list"
		case "TypeSet":
			nb.Nesting = "set"
		default:
			probs.add(here, fmt.Sprintf("block of type %q", a.Type))
			continue
		}
		if a.Required && a.MinItems == 0 {
			nb.MinItems = 1
		}
		if a.Optional && a.MinItems > 0 {
			nb.MinItems = 0
		}
		if a.Computed && !a.Optional {
			nb.MinItems, nb.MaxItems = 0, 0
		}
		b.BlockTypes[name] = nb
	}
	return b
}

// lowerResource is Resource.CoreConfigSchema: the block, an implied "id" and "timeouts".
func lowerResource(r *resource, where string, probs *problems) *block {
	b := lowerBlock(r, where, probs)
	b.Deprecated = r.Deprecated != ""
	if _, ok := b.Attributes["id"]; !ok {
		b.Attributes["id"] = &attribute{Type: "string", Optional: true, Computed: true}
	}
	_, attrTimeouts := b.Attributes["timeouts"]
	_, blockTimeouts := b.BlockTypes["timeouts"]
	if r.HasTimeouts && !attrTimeouts && !blockTimeouts {
		t := &block{Attributes: map[string]*attribute{}}
		for _, k := range []string{"create", "read", "update", "delete", "default"} {
			if r.Timeouts[k] {
				t.Attributes[k] = &attribute{Type: "string", Optional: true}
			}
		}
		b.BlockTypes["timeouts"] = &nestedBlock{Nesting: "single", Block: t}
	}
	if len(b.BlockTypes) == 0 {
		b.BlockTypes = nil
	}
	return b
}

// ---- main -----------------------------------------------------------------------------

func main() {
	repo := flag.String("repo", "", "the provider's git directory")
	rev := flag.String("rev", "", "the git revision (tag, branch or commit)")
	version := flag.String("version", "", "the provider version the revision is")
	include := flag.String("include", ".", "regular expression: the resource and data source names to write")
	out := flag.String("out", "", "the JSON file to write")
	flag.Parse()
	if *repo == "" || *rev == "" || *version == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	commit, err := exec.Command("git", "-C", *repo, "rev-parse", *rev+"^{commit}").Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "extract: no revision %s in %s\n", *rev, *repo)
		os.Exit(1)
	}
	prog, err := load(*repo, *rev)
	if err != nil {
		fmt.Fprintf(os.Stderr, "extract: %v\n", err)
		os.Exit(1)
	}
	pattern := regexp.MustCompile(*include)
	ev := &evaluator{prog: prog, conditional: map[string]bool{}}
	probs := newProblems()
	lowerAll := func(regs map[string]registration, kind string) map[string]any {
		outMap := map[string]any{}
		for name, reg := range regs {
			if !pattern.MatchString(name) {
				continue
			}
			v := ev.eval(reg.expr, &env{vars: map[string]any{}, p: reg.p, file: reg.file})
			r, ok := v.(*resource)
			if !ok || r.Schema == nil {
				probs.add(kind+" "+name, fmt.Sprintf("not evaluated: %v", v))
				continue
			}
			before := len(probs.list)
			b := lowerResource(r, kind+" "+name, probs)
			if len(probs.list) > before {
				continue // a partial schema would pass what the provider refuses
			}
			outMap[name] = map[string]any{"block": b}
		}
		return outMap
	}
	providerBlock := any(nil)
	if p := prog.pkgs["google/provider"]; p != nil && p.funcs["Provider"] != nil {
		fn := p.funcs["Provider"]
		r, ok := ev.callFunc(&funcValue{pkg: p, decl: fn.Type, body: fn.Body}, nil).(*resource)
		before := len(probs.list)
		if !ok || r.Schema == nil {
			probs.add("provider", "not evaluated")
		} else if b := lowerBlock(r, "provider", probs); len(probs.list) == before {
			providerBlock = map[string]any{"block": b}
		}
	}
	resources := lowerAll(prog.resources, "resource")
	dataSources := lowerAll(prog.dataSources, "data source")
	framework := []string{}
	for name := range prog.framework {
		framework = append(framework, name)
	}
	sort.Strings(framework)
	sort.Strings(probs.list)
	var conditional []string
	for where := range ev.conditional {
		conditional = append(conditional, where)
	}
	sort.Strings(conditional)
	extracted := map[string]any{
		"repository":                   "github.com/hashicorp/terraform-provider-google",
		"version":                      *version,
		"revision":                     *rev,
		"commit":                       strings.TrimSpace(string(commit)),
		"include":                      *include,
		"program":                      "localdev/terraform_schema/extract.go",
		"unevaluated_conditions_taken": conditional,
		"not_extracted": map[string]any{
			"plugin_framework": framework,
			"unresolved":       probs.list,
		},
	}
	if err := write(*out, extracted, providerBlock, resources, dataSources); err != nil {
		fmt.Fprintf(os.Stderr, "extract: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "extract: %s (%s): %d resources, %d data sources, %d unresolved, %d framework (not read), %d parse warnings\n",
		*version, strings.TrimSpace(string(commit)), len(resources), len(dataSources), len(probs.list), len(framework), len(prog.warnings))
	for _, w := range prog.warnings {
		fmt.Fprintln(os.Stderr, "  warning:", w)
	}
}

// write writes the document of `terraform providers schema -json`, one resource or data
// source a line: grep finds one, and a new version's diff shows which changed.
func write(path string, extracted, provider any, resources, dataSources map[string]any) error {
	var out bytes.Buffer
	line := func(prefix string, v any, suffix string) error {
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		out.WriteString(prefix)
		out.Write(data)
		out.WriteString(suffix + "\n")
		return nil
	}
	schemas := func(key string, m map[string]any, last bool) error {
		fmt.Fprintf(&out, "%q: {\n", key)
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		for i, name := range names {
			comma := ","
			if i == len(names)-1 {
				comma = ""
			}
			if err := line(strconv.Quote(name)+": ", m[name], comma); err != nil {
				return err
			}
		}
		if last {
			out.WriteString("}\n")
		} else {
			out.WriteString("},\n")
		}
		return nil
	}
	out.WriteString("{\n")
	if err := line(`"extracted_from": `, extracted, ","); err != nil {
		return err
	}
	out.WriteString(`"format_version": "1.0",` + "\n")
	out.WriteString(`"provider_schemas": {"registry.terraform.io/hashicorp/google": {` + "\n")
	if err := line(`"provider": `, provider, ","); err != nil {
		return err
	}
	if err := schemas("resource_schemas", resources, false); err != nil {
		return err
	}
	if err := schemas("data_source_schemas", dataSources, true); err != nil {
		return err
	}
	out.WriteString("}}}\n")
	return os.WriteFile(path, out.Bytes(), 0o644)
}
