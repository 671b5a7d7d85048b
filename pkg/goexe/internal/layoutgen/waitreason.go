package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
)

// parseWaitReasons returns runtime.waitReasonStrings indexed by waitReason
// value: the const block starting `waitReasonZero waitReason = iota` gives
// the order, the composite literal gives the strings.
func parseWaitReasons(path string, src []byte) ([]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
	if err != nil {
		return nil, err
	}
	var order []string
	strs := map[string]string{}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok {
			continue
		}
		for i, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok || len(vs.Names) == 0 {
				continue
			}
			if gd.Tok == token.CONST && i == 0 && vs.Names[0].Name == "waitReasonZero" {
				order, err = constOrder(gd)
				if err != nil {
					return nil, err
				}
			}
			if gd.Tok == token.VAR && vs.Names[0].Name == "waitReasonStrings" && len(vs.Values) == 1 {
				cl, ok := vs.Values[0].(*ast.CompositeLit)
				if !ok {
					return nil, fmt.Errorf("%s: waitReasonStrings is not a composite literal", path)
				}
				for _, e := range cl.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						return nil, fmt.Errorf("%s: waitReasonStrings element without a key", path)
					}
					k, ok1 := kv.Key.(*ast.Ident)
					lit, ok2 := kv.Value.(*ast.BasicLit)
					if !ok1 || !ok2 {
						return nil, fmt.Errorf("%s: unexpected waitReasonStrings element", path)
					}
					s, err := strconv.Unquote(lit.Value)
					if err != nil {
						return nil, err
					}
					strs[k.Name] = s
				}
			}
		}
	}
	if len(order) == 0 || len(strs) == 0 {
		return nil, fmt.Errorf("%s: waitReason constants or strings not found", path)
	}
	out := make([]string, len(order))
	for i, name := range order {
		s, ok := strs[name]
		if !ok {
			return nil, fmt.Errorf("%s: no string for %s", path, name)
		}
		out[i] = s
	}
	return out, nil
}

// constOrder lists an iota const block's names; only the first spec may
// have a value (= iota), so each name's value is its position.
func constOrder(gd *ast.GenDecl) ([]string, error) {
	var names []string
	for i, spec := range gd.Specs {
		vs := spec.(*ast.ValueSpec)
		if len(vs.Names) != 1 {
			return nil, fmt.Errorf("waitReason const spec with %d names", len(vs.Names))
		}
		if i > 0 && len(vs.Values) != 0 {
			return nil, fmt.Errorf("waitReason %s has an explicit value", vs.Names[0].Name)
		}
		names = append(names, vs.Names[0].Name)
	}
	return names, nil
}
