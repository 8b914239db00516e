package mapping

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/guestsync/guestsync/pkg/schema"
)

// SchemaID is the $id of the mapping file JSON Schema.
const SchemaID = "https://github.com/guestsync/guestsync/mappings/schema.json"

// JSONSchema returns the JSON Schema (draft 2020-12) of mapping files, for
// editor completion. It is built from the same tables the compiler checks
// against (the targets' properties, operators, flow types), and
// mappings/schema.json is this output, kept equal by a test. A flow's
// target is one of the properties of the file's `target`, which the schema
// says with if/then: editors then offer AD attributes in a mapping with
// `target: ad` and Graph user properties otherwise.
func JSONSchema() ([]byte, error) {
	type obj = map[string]any
	str := func(desc string) obj { return obj{"type": "string", "description": desc} }
	strict := func(desc string, props obj, required ...string) obj {
		o := obj{"type": "object", "description": desc, "additionalProperties": false, "properties": props}
		if len(required) > 0 {
			o["required"] = required
		}
		return o
	}
	// flowTargets are the names a flow may write for each target kind.
	flowTargets := map[string][]string{}
	for _, kind := range schema.Kinds() {
		t, _ := schema.ForKind(kind)
		for _, p := range t.Properties() {
			flowTargets[kind] = append(flowTargets[kind], p.Name)
		}
	}
	flowTargets[TargetGraph] = append(flowTargets[TargetGraph], "userType")
	targets := append(append([]string(nil), flowTargets[TargetGraph]...), flowTargets[TargetAD]...)
	slices.Sort(targets)
	targets = slices.Compact(targets)
	values := obj{
		"description": "One value, or a list for a multi-valued attribute; binary values with YAML's !!binary tag.",
		"oneOf":       []any{obj{"type": "string"}, obj{"type": "array", "items": obj{"type": "string"}}},
	}
	clause := strict("A scoping clause: attribute, operator and (for binary operators) value.", obj{
		"attribute": str("Source attribute name (case-insensitive)."),
		"operator": obj{"description": "Entra scoping operator; case and '_' versus ' ' do not matter.",
			"enum": OperatorNames()},
		"value": str("The value the operator compares with; an integer for Greater_Than and Greater_Than_OR_EQUALS, a regular expression for REGEX MATCH."),
	}, "attribute", "operator")
	flow := strict("How one property of the target gets its value.", obj{
		"target":        obj{"description": "The property written: a Graph user property (target graph) or an AD attribute (target ad).", "enum": targets},
		"type":          obj{"description": "direct copies an attribute, constant writes a fixed value, expression computes one.", "enum": []string{"direct", "constant", "expression"}},
		"source":        str("For direct flows: the source attribute."),
		"value":         str("For constant flows: the value."),
		"expression":    str("For expression flows: an Entra provisioning expression, e.g. Join(\"@\", [uid], \"partners.contoso.com\")."),
		"apply":         obj{"description": "always (default) or create: only when the account is created.", "enum": []string{"always", "create"}},
		"defaultIfNull": str("Value used when the flow produces none."),
	}, "target", "type")
	test := strict("A test of the mapping: an entry and what it must produce.", obj{
		"name":       str("What the test shows."),
		"dn":         str("The entry's DN (default: CN=<name>,OU=guestsync tests)."),
		"attributes": obj{"type": "object", "description": "The entry's attributes.", "additionalProperties": values},
		"now":        str("Fixed clock for Now and date functions, RFC 3339."),
		"taken": obj{"type": "object", "description": "Values already used in the target (tenant or domain), per property, for SelectUniqueValue.",
			"additionalProperties": obj{"type": "array", "items": obj{"type": "string"}}},
		"expect": strict("What the mapping must produce.", obj{
			"outOfScope": obj{"type": "boolean", "description": "The scope leaves the entry out."},
			"error":      str("The mapping fails with an error containing this text."),
			"anchor":     str("The expected anchor: onPremisesImmutableId (base64) in guid format, the value itself in text format."),
			"properties": obj{"type": "object", "description": "Expected property values; null means not set.",
				"additionalProperties": obj{"type": []string{"string", "null"}}},
		}),
	}, "name", "expect")
	root := strict("A guestsync mapping file: which source entries become accounts of the target (Entra ID guest users, or Active Directory shadow accounts of the tenant's guests), and how their properties flow.", obj{
		"version":     obj{"const": FormatVersion, "description": "Mapping file format version."},
		"name":        str("Short name of the mapping."),
		"description": str("What the mapping is for."),
		"target": obj{"description": "What the mapping writes: graph (default), Entra ID guest users through Microsoft Graph; ad, Active Directory user objects (shadow accounts).",
			"enum": schema.Kinds(), "default": TargetGraph},
		"mode": obj{"description": "Only with target graph. create: internal guests via POST /users (default); invite: B2B invitations at the mapped mail.", "enum": []string{ModeCreate, ModeInvite}},
		"anchor": strict("Source attributes that anchor an account, most preferred first, and the anchor's format.", obj{
			"attributes": obj{"type": "array", "items": obj{"type": "string"}, "default": defaultAnchor[TargetGraph].Attributes,
				"description": "The first attribute the entry has is used. Default: ms-DS-ConsistencyGuid, objectGUID for target graph; id (the guest's Graph object id) for target ad."},
			"format": obj{"description": "guid: a 16-byte binary GUID (objectGUID, ms-DS-ConsistencyGuid) or a UUID string (entryUUID), as base64 (onPremisesImmutableId; the default for target graph); text: the value as it is (the default for target ad).",
				"enum": []string{AnchorGUID, AnchorText}},
		}),
		"scope": obj{"type": "array", "description": "Scoping filters, OR-ed; an entry matching none is out of scope.",
			"items": strict("A scoping filter; its clauses are AND-ed.", obj{
				"name":    str("Name shown in out-of-scope reasons."),
				"clauses": obj{"type": "array", "minItems": 1, "items": clause, "description": "Clauses that must all be true."},
			}, "clauses")},
		"flows": obj{"type": "array", "items": flow, "description": "One flow per property of the target the mapping writes."},
		"tests": obj{"type": "array", "items": test, "description": "Tests that `guestsync validate` runs: no directory or tenant needed."},
	}, "version", "flows")
	flowsOf := func(kind string) obj {
		return obj{"properties": obj{"flows": obj{"items": obj{"properties": obj{"target": obj{"enum": flowTargets[kind]}}}}}}
	}
	ad := flowsOf(TargetAD)
	ad["properties"].(obj)["mode"] = false // invite and create are Graph's ways
	root["allOf"] = []any{obj{
		"if":   obj{"properties": obj{"target": obj{"const": TargetAD}}, "required": []string{"target"}},
		"then": ad,
		"else": flowsOf(TargetGraph),
	}}
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "guestsync mapping file"
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // "&" and "<name>" read better unescaped
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
