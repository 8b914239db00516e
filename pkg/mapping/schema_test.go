package mapping

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var schemaPath = filepath.Join("..", "..", "mappings", "schema.json")

// TestSchemaFileIsCurrent keeps mappings/schema.json equal to what the code
// generates; run `go test ./pkg/mapping -update` after changing the format.
func TestSchemaFileIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := JSONSchema()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile(schemaPath, want, 0o644))
	}
	got, err := os.ReadFile(schemaPath)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "mappings/schema.json is stale: go test ./pkg/mapping -update")
}

// TestSchemaCoversEveryKey walks the Go types the decoder accepts and the
// schema side by side: a key added to one and not the other fails here.
func TestSchemaCoversEveryKey(t *testing.T) {
	t.Parallel()
	raw, err := JSONSchema()
	require.NoError(t, err)
	var schema map[string]any
	require.NoError(t, json.Unmarshal(raw, &schema))
	var walk func(t reflect.Type, s map[string]any, path string)
	walk = func(rt reflect.Type, s map[string]any, path string) {
		for rt.Kind() == reflect.Pointer || rt.Kind() == reflect.Slice {
			rt = rt.Elem()
			if items, ok := s["items"].(map[string]any); ok {
				s = items
			}
		}
		if rt.Kind() != reflect.Struct {
			return
		}
		props, _ := s["properties"].(map[string]any)
		assert.Equal(t, false, s["additionalProperties"], "%s: unknown keys must be refused", path)
		fields := map[string]bool{}
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			fields[name] = true
			sub, ok := props[name].(map[string]any)
			if !assert.True(t, ok, "%s.%s is accepted by the decoder but missing from the schema", path, name) {
				continue
			}
			assert.NotEmpty(t, sub["description"], "%s.%s has no description", path, name)
			walk(f.Type, sub, path+"."+name)
		}
		for name := range props {
			assert.True(t, fields[name], "%s.%s is in the schema but the decoder refuses it", path, name)
		}
	}
	walk(reflect.TypeOf(file{}), schema, "mapping")
}

// TestSchemaEnumsMatchTheCompiler compiles a mapping for every operator
// and every flow target the schema offers editors: a value the schema
// suggests must never be one the compiler refuses.
func TestSchemaEnumsMatchTheCompiler(t *testing.T) {
	t.Parallel()
	raw, err := JSONSchema()
	require.NoError(t, err)
	var schema struct {
		Properties struct {
			Scope struct {
				Items struct {
					Properties struct {
						Clauses struct {
							Items struct {
								Properties struct {
									Operator struct{ Enum []string }
								}
							}
						}
					}
				}
			}
			Flows struct {
				Items struct {
					Properties struct {
						Target struct{ Enum []string }
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	ops := schema.Properties.Scope.Items.Properties.Clauses.Items.Properties.Operator.Enum
	require.NotEmpty(t, ops)
	for _, op := range ops {
		clause := fmt.Sprintf("{attribute: a, operator: %q, value: \"1\"}", op)
		if def, _ := lookupOperator(op); !def.needsValue {
			clause = fmt.Sprintf("{attribute: a, operator: %q}", op)
		}
		_, err := Parse("m.yaml", []byte(minimal("scope:\n  - clauses: ["+clause+"]\n")))
		assert.NoError(t, err, "operator %s", op)
	}
	union := schema.Properties.Flows.Items.Properties.Target.Enum
	graphTargets, adTargets := flowTargetEnums(t, raw)
	require.NotEmpty(t, graphTargets)
	require.NotEmpty(t, adTargets)
	both := append(append([]string(nil), graphTargets...), adTargets...)
	slices.Sort(both)
	assert.Equal(t, slices.Compact(both), union, "the flow target enum is every target's properties")
	for _, target := range graphTargets {
		value := "x"
		switch target {
		case "accountEnabled":
			value = "True"
		case "userType":
			value = "Guest"
		case "userPrincipalName", "mailNickname", "displayName":
			continue // already produced by minimal's flows
		}
		flow := fmt.Sprintf("  - {target: %s, type: constant, value: %q}\n", target, value)
		if target == "accountEnabled" {
			_, err = Parse("m.yaml", []byte(strings.Replace(minimal(""), "  - {target: accountEnabled, type: constant, value: \"true\"}\n", flow, 1)))
		} else {
			_, err = Parse("m.yaml", []byte(minimal("")+flow))
		}
		assert.NoError(t, err, "target %s", target)
	}
	for _, target := range adTargets {
		value := "x"
		switch target {
		case "enabled":
			value = "true"
		case "userPrincipalName", "sAMAccountName", "cn":
			continue // already produced by minimalAD's flows
		}
		flow := fmt.Sprintf("  - {target: %s, type: constant, value: %q}\n", target, value)
		_, err = Parse("m.yaml", []byte(minimalAD("")+flow))
		assert.NoError(t, err, "target %s", target)
	}
}

// flowTargetEnums reads the flow targets the schema offers for each target
// kind, from its if (target: ad) then/else.
func flowTargetEnums(t *testing.T, raw []byte) (graph, ad []string) {
	t.Helper()
	type branch struct {
		Properties struct {
			Flows struct {
				Items struct {
					Properties struct {
						Target struct{ Enum []string }
					}
				}
			}
		}
	}
	var schema struct {
		AllOf []struct {
			If struct {
				Properties struct {
					Target struct{ Const string }
				}
			}
			Then branch
			Else branch
		}
	}
	require.NoError(t, json.Unmarshal(raw, &schema))
	require.Len(t, schema.AllOf, 1)
	require.Equal(t, TargetAD, schema.AllOf[0].If.Properties.Target.Const)
	return schema.AllOf[0].Else.Properties.Flows.Items.Properties.Target.Enum,
		schema.AllOf[0].Then.Properties.Flows.Items.Properties.Target.Enum
}
