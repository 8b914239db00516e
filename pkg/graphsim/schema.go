package graphsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// graphMetadata is the base of every @odata.context Graph returns.
const graphMetadata = "https://graph.microsoft.com/v1.0/$metadata"

type propKind int

const (
	kindString propKind = iota
	kindBool
	kindStrings // Collection(Edm.String)
	kindDateTime
	kindObject
	kindObjects // Collection of a complex type, kept as JSON values
)

// edmType names a kind the way Graph's OData errors do.
func (k propKind) edmType() string {
	switch k {
	case kindBool:
		return "Edm.Boolean"
	case kindStrings:
		return "Collection(Edm.String)"
	case kindDateTime:
		return "Edm.DateTimeOffset"
	case kindObject:
		return "Edm.ComplexType"
	case kindObjects:
		return "Collection(Edm.ComplexType)"
	default:
		return "Edm.String"
	}
}

// support is how a query feature works on a property: not at all, only in
// an advanced query (ConsistencyLevel: eventual plus $count=true), or by
// default (Graph docs, "Advanced query capabilities on Microsoft Entra ID
// objects", legend of the $filter and $orderby tables).
type support int

const (
	unsupported support = iota
	advancedOnly
	byDefault
)

// propDef describes one property of microsoft.graph.user.
type propDef struct {
	name     string
	kind     propKind
	maxLen   int  // in characters; 0 = no limit enforced
	selected bool // in the default set returned without $select
	readOnly bool
	fields   map[string]propKind // members of a complex (object) property

	eq, startsWith, endsWith, orderBy support

	allFields bool    // render every member of a complex property, null when unset
	subEq     support // eq on "property/member" in $filter
	parent    *propDef
	field     string // member of parent this path names ("parent/field")
}

// userSchema returns the part of the v1.0 user schema the emulator knows.
// It is built per Server so that the package holds no mutable state.
//
// Default set: Graph docs, "user resource type" and "List users": without
// $select Graph v1.0 returns businessPhones, displayName, givenName, id,
// jobTitle, mail, mobilePhone, officeLocation, preferredLanguage, surname,
// userPrincipalName; every other property is "Returned only on $select".
//
// Length limits: Graph docs, "user resource type", property descriptions
// (e.g. companyName "Maximum length is 64 characters", employeeId 16,
// displayName 256, mailNickname 64, jobTitle 128, postalCode 40).
//
// Filter support: GRAPH.md "Reading" and the $filter table of Graph docs,
// "Advanced query capabilities on Microsoft Entra ID objects".
func userSchema() *schema {
	props := []*propDef{
		{name: "id", kind: kindString, selected: true, readOnly: true, eq: byDefault},
		{name: "businessPhones", kind: kindStrings, selected: true},
		{name: "displayName", kind: kindString, maxLen: 256, selected: true, eq: byDefault, startsWith: byDefault, orderBy: byDefault},
		{name: "givenName", kind: kindString, maxLen: 64, selected: true, eq: byDefault, startsWith: byDefault},
		{name: "jobTitle", kind: kindString, maxLen: 128, selected: true, eq: byDefault, startsWith: byDefault},
		{name: "mail", kind: kindString, maxLen: 256, selected: true, eq: byDefault, startsWith: byDefault, endsWith: advancedOnly},
		{name: "mobilePhone", kind: kindString, maxLen: 64, selected: true},
		{name: "officeLocation", kind: kindString, maxLen: 128, selected: true},
		{name: "preferredLanguage", kind: kindString, selected: true},
		{name: "surname", kind: kindString, maxLen: 64, selected: true, eq: byDefault, startsWith: byDefault},
		{name: "userPrincipalName", kind: kindString, maxLen: 113, selected: true, eq: byDefault, startsWith: byDefault, endsWith: advancedOnly, orderBy: byDefault},

		{name: "accountEnabled", kind: kindBool, eq: byDefault},
		{name: "ageGroup", kind: kindString},
		{name: "city", kind: kindString, maxLen: 128},
		{name: "companyName", kind: kindString, maxLen: 64, eq: advancedOnly, startsWith: advancedOnly},
		{name: "consentProvidedForMinor", kind: kindString},
		{name: "country", kind: kindString, maxLen: 128},
		{name: "createdDateTime", kind: kindDateTime, readOnly: true, orderBy: advancedOnly},
		{name: "creationType", kind: kindString, readOnly: true},
		{name: "deletedDateTime", kind: kindDateTime, readOnly: true},
		{name: "department", kind: kindString, maxLen: 64},
		{name: "employeeHireDate", kind: kindDateTime},
		{name: "employeeId", kind: kindString, maxLen: 16, eq: byDefault, startsWith: byDefault},
		{name: "employeeOrgData", kind: kindObject, fields: map[string]propKind{"costCenter": kindString, "division": kindString}, subEq: advancedOnly},
		{name: "employeeType", kind: kindString},
		{name: "externalUserState", kind: kindString, readOnly: true, eq: byDefault},
		{name: "externalUserStateChangeDateTime", kind: kindDateTime, readOnly: true},
		{name: "faxNumber", kind: kindString},
		{name: "imAddresses", kind: kindStrings, readOnly: true},
		{name: "lastPasswordChangeDateTime", kind: kindDateTime, readOnly: true},
		{name: "mailNickname", kind: kindString, maxLen: 64, eq: byDefault, startsWith: byDefault},
		// Graph docs, "onPremisesExtensionAttributes resource type": 15
		// strings of up to 1024 characters, writable for cloud-only users
		// (every emulated user is one); "Advanced query capabilities",
		// $filter table: onPremisesExtensionAttributes/extensionAttribute1-15
		// eq only in advanced queries.
		{name: "onPremisesExtensionAttributes", kind: kindObject, fields: extensionAttributes(), allFields: true, subEq: advancedOnly},
		{name: "onPremisesImmutableId", kind: kindString, eq: byDefault},
		{name: "onPremisesSyncEnabled", kind: kindBool, readOnly: true},
		{name: "otherMails", kind: kindStrings},
		{name: "passwordPolicies", kind: kindString},
		{name: "passwordProfile", kind: kindObject, fields: map[string]propKind{"forceChangePasswordNextSignIn": kindBool, "forceChangePasswordNextSignInWithMfa": kindBool, "password": kindString}},
		{name: "postalCode", kind: kindString, maxLen: 40},
		{name: "proxyAddresses", kind: kindStrings, readOnly: true},
		{name: "securityIdentifier", kind: kindString, readOnly: true},
		{name: "showInAddressList", kind: kindBool},
		{name: "state", kind: kindString, maxLen: 128},
		{name: "streetAddress", kind: kindString, maxLen: 1024},
		{name: "usageLocation", kind: kindString},
		{name: "userType", kind: kindString, eq: byDefault},
	}
	return newSchema("user", "User", props)
}

// newSchema indexes the properties of the entity type microsoft.graph.<typeName>,
// which Graph's directory errors call resource '<resource>'.
func newSchema(typeName, resource string, props []*propDef) *schema {
	sc := &schema{typeName: typeName, resource: resource, props: props,
		byName: map[string]*propDef{}, byLower: map[string]*propDef{}}
	for _, p := range props {
		sc.byName[p.name] = p
		sc.byLower[strings.ToLower(p.name)] = p
		if p.selected {
			sc.defaults = append(sc.defaults, p)
		}
	}
	return sc
}

// schema indexes the properties of one entity type.
type schema struct {
	typeName string              // "user": the type is microsoft.graph.user
	resource string              // "User", as directory errors name the resource
	props    []*propDef          // in a fixed order, for deterministic validation
	byName   map[string]*propDef // exact JSON name, for bodies
	byLower  map[string]*propDef // lower-cased, for URLs
	defaults []*propDef          // the default $select set
}

func extensionAttributes() map[string]propKind {
	m := map[string]propKind{}
	for i := 1; i <= 15; i++ {
		m["extensionAttribute"+strconv.Itoa(i)] = kindString
	}
	return m
}

// lookupPath resolves a $filter operand: a property, or "complex/member"
// (OData member access), with the member matched case-insensitively.
func (sc *schema) lookupPath(name string) (*propDef, *graphError) {
	parentName, member, isPath := strings.Cut(strings.TrimSpace(name), "/")
	p := sc.lookup(parentName)
	if p == nil {
		return nil, sc.errNoSuchProperty("", parentName)
	}
	if !isPath {
		return p, nil
	}
	for f, kind := range p.fields {
		if strings.EqualFold(f, member) && p.kind == kindObject {
			return &propDef{name: p.name + "/" + f, kind: kind, parent: p, field: f, eq: p.subEq}, nil
		}
	}
	return nil, newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(
		"Could not find a property named '%s' on type 'microsoft.graph.%s'.", member, p.name))
}

// lookup finds a property named in a URL ($select, $filter, $orderby).
// Graph matches those names case-insensitively.
func (sc *schema) lookup(name string) *propDef {
	return sc.byLower[strings.ToLower(strings.TrimSpace(name))]
}
