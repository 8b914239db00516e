package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeObject turns a POST or PATCH body into stored values by property name.
// An explicit JSON null is kept as a nil value (it clears the property on
// PATCH). Instance annotations such as "@odata.type" (msgraph-sdk-go sends
// "#microsoft.graph.user") are ignored, and so are read-only properties,
// which a client may echo back from a GET.
func (sc *schema) decodeObject(body []byte) (map[string]any, *graphError) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, errUnreadablePayload()
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, errUnreadablePayload()
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	props := map[string]any{}
	var extensions []string
	for _, k := range keys {
		switch {
		case isAnnotation(k):
			continue
		case strings.HasPrefix(strings.ToLower(k), "extension_"):
			extensions = append(extensions, k)
			continue
		}
		p := sc.byName[k]
		if p == nil {
			return nil, errInvalidProperty(k)
		}
		if p.readOnly {
			continue
		}
		v, err := decodeValue(p.kind, p.fields, raw[k])
		if err != nil {
			return nil, err
		}
		props[k] = v
	}
	if len(extensions) > 0 {
		// Graph answers directory extension properties that are not
		// registered with this message (msgraph-sdk-dotnet issue #2680); the
		// emulator registers none yet.
		return nil, newError(http.StatusBadRequest, codeRequestBadRequest,
			fmt.Sprintf("The following extension properties are not available: %s.", strings.Join(extensions, ",")))
	}
	return props, nil
}

func isAnnotation(key string) bool {
	return strings.HasPrefix(key, "@") || strings.Contains(key, "@odata.")
}

// decodeValue converts one JSON value to the stored form of a kind. A value
// of the wrong JSON type gets the OData conversion error.
func decodeValue(kind propKind, fields map[string]propKind, raw json.RawMessage) (any, *graphError) {
	if string(raw) == "null" {
		return nil, nil
	}
	// The error is built only when needed: fmt.Sprintf for every value
	// showed up in profiles of bulk creates.
	bad := func() *graphError { return errConvert(raw, kind) }
	switch kind {
	case kindString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, bad()
		}
		return s, nil
	case kindBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, bad()
		}
		return b, nil
	case kindStrings:
		var ss []string
		if json.Unmarshal(raw, &ss) != nil {
			return nil, bad()
		}
		if ss == nil {
			ss = []string{}
		}
		return ss, nil
	case kindDateTime:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, bad()
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, errConvert(raw, kind)
		}
		return t.UTC().Format(time.RFC3339), nil
	case kindObjects:
		// A collection of complex values (an application's appRoles) is
		// kept as JSON; its members are the caller's to check.
		var list []map[string]any
		if json.Unmarshal(raw, &list) != nil {
			return nil, bad()
		}
		out := make([]any, len(list))
		for i, m := range list {
			out[i] = m
		}
		return out, nil
	case kindObject:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return nil, bad()
		}
		obj := map[string]any{}
		for k, v := range m {
			if isAnnotation(k) {
				continue
			}
			fk, ok := fields[k]
			if !ok {
				return nil, errInvalidProperty(k)
			}
			fv, err := decodeValue(fk, nil, v)
			if err != nil {
				return nil, err
			}
			obj[k] = fv
		}
		return obj, nil
	}
	return nil, bad()
}

// errConvert is the OData reader's error for a value of the wrong type,
// e.g. "Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'."
func errConvert(raw json.RawMessage, kind propKind) *graphError {
	text := strings.Trim(string(raw), `"`)
	if len(text) > 64 {
		text = text[:64]
	}
	return newError(http.StatusBadRequest, codeBadRequest,
		fmt.Sprintf("Cannot convert the literal '%s' to the expected type '%s'.", text, kind.edmType()))
}

// validateUser applies Graph's rules to decoded values. creating selects the
// create rules (required properties) over the PATCH rules (required
// properties cannot be cleared). It normalises values (userType,
// usageLocation) in place.
//
// Required properties, in the order of the docs table: Graph docs, "Create
// user", request body: accountEnabled, displayName, mailNickname,
// passwordProfile, userPrincipalName.
func (s *Server) validateUser(props map[string]any, creating bool) *graphError {
	for _, name := range []string{"accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName"} {
		v, present := props[name]
		empty := v == nil || v == ""
		if name == "passwordProfile" {
			pp, _ := v.(map[string]any)
			pw, _ := pp["password"].(string)
			empty = pp == nil || (creating && pw == "")
		}
		switch {
		case creating && empty:
			return errRequired(name)
		case !creating && present && empty:
			// Graph docs, "user resource type": displayName "Cannot be
			// cleared during updates"; Graph answers a cleared required
			// property with "A value is required for property ...".
			return errCannotClear(name)
		}
	}
	for _, p := range s.schema.props {
		v, ok := props[p.name]
		if !ok || v == nil {
			continue
		}
		if err := s.checkProperty(p, v, props); err != nil {
			return err
		}
	}
	return nil
}

// checkProperty checks one non-null value.
func (s *Server) checkProperty(p *propDef, v any, props map[string]any) *graphError {
	if str, ok := v.(string); ok && p.maxLen > 0 && utf8.RuneCountInString(str) > p.maxLen {
		if p.name == "userPrincipalName" {
			return errInvalidUPN()
		}
		return errInvalidValue(p.name)
	}
	switch p.name {
	case "userPrincipalName":
		if !validUPN(v.(string), s.domains) {
			return errInvalidUPN()
		}
	case "mailNickname":
		// Graph docs, "user resource type", mailNickname: these characters
		// cannot be used: @ ( ) \ [ ] " ; : < > , SPACE.
		if strings.ContainsAny(v.(string), "@()\\[]\";:<>, ") {
			return errInvalidValue(p.name)
		}
	case "onPremisesImmutableId":
		// Graph docs, "user resource type", onPremisesImmutableId: "The $
		// and _ characters can't be used when specifying this property."
		if strings.ContainsAny(v.(string), "$_") {
			return errInvalidValue(p.name)
		}
	case "userType":
		// Graph docs, "user resource type", userType: Member or Guest.
		switch strings.ToLower(v.(string)) {
		case "member":
			props[p.name] = "Member"
		case "guest":
			props[p.name] = "Guest"
		default:
			return errInvalidValue(p.name)
		}
	case "usageLocation":
		// Graph docs: "A two-letter country code (ISO standard 3166)".
		if !isTwoLetterCode(v.(string)) {
			return errInvalidValue(p.name)
		}
		props[p.name] = strings.ToUpper(v.(string))
	case "mail":
		if !validMail(v.(string)) {
			return errInvalidValue(p.name)
		}
	case "otherMails":
		for _, m := range v.([]string) {
			if !validMail(m) {
				return errInvalidValue(p.name)
			}
		}
	case "onPremisesExtensionAttributes":
		// Graph docs: "Each attribute can store up to 1024 characters."
		for _, x := range v.(map[string]any) {
			if str, ok := x.(string); ok && utf8.RuneCountInString(str) > 1024 {
				return errInvalidValue(p.name)
			}
		}
	case "businessPhones":
		// Graph docs, "user resource type", businessPhones: "Only one
		// number can be set for this property."
		if len(v.([]string)) > 1 {
			return errInvalidValue(p.name)
		}
	case "passwordProfile":
		if pw, ok := v.(map[string]any)["password"].(string); ok && !complexPassword(pw) {
			return newError(http.StatusBadRequest, codeRequestBadRequest, msgPasswordComplexity)
		}
	}
	return nil
}

// validUPN applies GRAPH.md's userPrincipalName rules: alias@domain with one
// @; alias characters A-Z a-z 0-9 ' . - _ ! # ^ ~; no "." right before the
// @; at most 113 characters, 64 before the @ and 48 after; the domain must be
// one of the tenant's verified domains (compared case-insensitively).
func validUPN(upn string, verified []string) bool {
	alias, domain, ok := strings.Cut(upn, "@")
	if !ok || strings.Contains(domain, "@") || alias == "" || domain == "" {
		return false
	}
	if len(upn) > 113 || len(alias) > 64 || len(domain) > 48 || strings.HasSuffix(alias, ".") {
		return false
	}
	for _, r := range alias {
		if !isASCIIAlnum(r) && !strings.ContainsRune("'.-_!#^~", r) {
			return false
		}
	}
	for _, d := range verified {
		if strings.EqualFold(d, domain) {
			return true
		}
	}
	return false
}

// validMail accepts a single-@ SMTP address without spaces.
func validMail(m string) bool {
	local, domain, ok := strings.Cut(m, "@")
	return ok && local != "" && domain != "" && !strings.Contains(domain, "@") &&
		!strings.ContainsAny(m, " \t\r\n")
}

// complexPassword applies Microsoft Entra's password policy (GRAPH.md; Entra
// docs, "Password policies and account restrictions"): 8 to 256 characters
// from A-Z, a-z, 0-9, symbols and space (no other Unicode), with at least
// three of the four classes: lower case, upper case, digits, symbols.
func complexPassword(pw string) bool {
	n := utf8.RuneCountInString(pw)
	if n < 8 || n > 256 {
		return false
	}
	var lower, upper, digit, symbol bool
	for _, r := range pw {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r >= 0x20 && r <= 0x7e:
			symbol = true
		default:
			return false
		}
	}
	classes := 0
	for _, c := range []bool{lower, upper, digit, symbol} {
		if c {
			classes++
		}
	}
	return classes >= 3
}

func isASCIIAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

func isTwoLetterCode(s string) bool {
	return len(s) == 2 && isASCIIAlnum(rune(s[0])) && isASCIIAlnum(rune(s[1])) &&
		!(s[0] >= '0' && s[0] <= '9') && !(s[1] >= '0' && s[1] <= '9')
}
